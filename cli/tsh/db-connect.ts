import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { BadParameterError, NotFoundError } from '#libs/common';
import { dbLogins } from '#libs/client';
import { dbConnection, serviceConninfo } from './db-connection.js';
import type { DbContext } from './db-context.js';
import { dbLogin, dbView, loginServes, type DbRouteFlags } from './db-login.js';

/**
 * `tsh db connect`: logs in to the database unless the stored login serves, then runs psql; resolves
 * to psql's exit code. Where the user's roles provision database users, the database user is the
 * Teleport username unless --db-user says otherwise, whatever an earlier login used; a database user
 * or name that nothing determines is asked for, rather than left to psql's defaults.
 */
export async function dbConnect(ctx: DbContext, db: string, flags: DbRouteFlags): Promise<number> {
  const view = await dbView(ctx, db);
  const route = { ...flags, dbUser: flags.dbUser ?? (view.auto_user ? ctx.active.identity.username : undefined) };
  const stored = dbLogins(ctx.profile).find((l) => l.name === db);
  const login = stored && loginServes(ctx, stored, route) ? stored : await dbLogin(ctx, db, route, view);
  const connection = dbConnection(ctx.profile, login);
  if (connection.user === undefined)
    throw new BadParameterError(`please provide the database user name using the --db-user flag${choices(view.allowed_users)}`);
  if (connection.database === undefined)
    throw new BadParameterError(`please provide the database name using the --db-name flag${choices(view.allowed_names)}`);
  return runPsql([serviceConninfo(connection)]);
}

/** What the roles allow, when they list it. */
function choices(allowed: string[]): string {
  const listed = allowed.filter((v) => v !== '*');
  return listed.length ? ` (your roles allow ${listed.join(', ')}${listed.length < allowed.length ? ' and any other' : ''})` : '';
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
