import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { NotFoundError } from '#libs/common';
import { dbLogins } from '#libs/client';
import { dbConnection, serviceConninfo } from './db-connection.js';
import type { DbContext } from './db-context.js';
import { dbLogin, loginServes, type DbRouteFlags } from './db-login.js';

/** `tsh db connect`: logs in to the database unless the stored login serves, then runs psql; resolves to psql's exit code. */
export async function dbConnect(ctx: DbContext, db: string, flags: DbRouteFlags): Promise<number> {
  const stored = dbLogins(ctx.profile).find((l) => l.name === db);
  const login = stored && loginServes(ctx, stored, flags) ? stored : await dbLogin(ctx, db, flags);
  return runPsql([serviceConninfo(dbConnection(ctx.profile, login))]);
}

function runPsql(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', args, { stdio: 'inherit' });
    // Ctrl-C belongs to psql (it cancels the running query); tsh waits for psql to finish.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    child.on('error', (err: NodeJS.ErrnoException) => {
      process.off('SIGINT', ignore);
      reject(
        err.code === 'ENOENT'
          ? new NotFoundError("psql was not found on your PATH: install the PostgreSQL client, or use 'tsh db config' with another client")
          : err,
      );
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}
