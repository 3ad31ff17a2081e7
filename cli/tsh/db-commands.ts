import type { Command } from 'commander';
import { BadParameterError } from '#libs/common';
import type { DbView } from '#libs/client';
import { parseFormat, print } from '../shared/output.js';
import { connectionUri, dbConnection, pgEnv, shellWord, type DbConnection } from './db-connection.js';
import { dbConnect } from './db-connect.js';
import { dbContext, pickLogin } from './db-context.js';
import { matchesSelector, parseLabelSelector } from './db-labels.js';
import { dbLogin, dbLogout, loginMessage, type DbRouteFlags } from './db-login.js';
import { dbProxy } from './db-proxy.js';
import { dbTable } from './db-ls.js';
import { requireFresh, type TshGlobals } from './identity.js';

function routeOptions(cmd: Command): Command {
  return cmd
    .option('--db-user <user>', 'the database user to connect as (default: the only one your roles allow)')
    .option('--db-name <name>', 'the database name to connect to (default: the only one your roles allow)')
    .option('--db-roles <roles>', 'database roles to get, comma-separated, for automatically provisioned users (default: all allowed)');
}

function configText(c: DbConnection): string {
  const rows: [string, string | number | undefined][] = [
    ['Name', c.name],
    ['Host', c.host],
    ['Port', c.port],
    ['User', c.user],
    ['Database', c.database],
    ['CA', c.ca],
    ['Cert', c.cert],
    ['Key', c.key],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(11)}${v ?? ''}`.trimEnd()).join('\n') + '\n';
}

export function registerDbCommands(program: Command, globals: () => TshGlobals): void {
  const db = program.command('db').description('List databases, get credentials for them and connect');

  db.command('ls')
    .description('List the databases your roles let you see')
    .argument('[labels]', 'only databases with all of these labels: key=value[,key=value...]')
    .option('--format <format>', 'text, json or yaml')
    .option('-v, --verbose', 'also show protocol, type, URI and the database users, names and roles your roles allow')
    .action(async (labels: string | undefined, opts: { format?: string; verbose?: boolean }) => {
      const format = parseFormat(opts.format);
      const selector = parseLabelSelector(labels);
      const ctx = await dbContext(globals());
      requireFresh(ctx.active);
      const dbs = (await ctx.api.get<DbView[]>('/v1/webapi/dbs')).filter((d) => matchesSelector(d.labels, selector));
      print(format, dbs, () => dbTable(dbs, Boolean(opts.verbose)));
    });

  routeOptions(db.command('login').description('Get a certificate for a database and save how to connect to it'))
    .argument('<db>', 'the database, as tsh db ls names it')
    .action(async (name: string, opts: DbRouteFlags) => {
      const ctx = await dbContext(globals());
      process.stdout.write(loginMessage(ctx, await dbLogin(ctx, name, opts)));
    });

  routeOptions(db.command('connect').description('Connect to a database with psql (logging in to it first if needed)'))
    .argument('<db>', 'the database, as tsh db ls names it')
    .action(async (name: string, opts: DbRouteFlags) => {
      process.exitCode = await dbConnect(await dbContext(globals()), name, opts);
    });

  routeOptions(
    program
      .command('proxy')
      .description('Local proxies')
      .command('db')
      .description('Start a local proxy to a database for clients without certificates'),
  )
    .argument('[db]', 'the database (default: the only one you are logged in to)')
    .option('--port <port>', 'local port to listen on (default: a free one)')
    .option('--tunnel', 'authenticate with your database certificate, so local clients need none')
    .action(async (name: string | undefined, opts: DbRouteFlags & { port?: string; tunnel?: boolean }) => {
      const ctx = await dbContext(globals());
      await dbProxy(ctx, name ?? pickLogin(ctx, undefined, 'name one as an argument').name, opts);
    });

  db.command('logout')
    .description('Remove the credentials of one database, or of all')
    .argument('[db]', 'the database (default: all)')
    .action(async (name: string | undefined) => {
      process.stdout.write(dbLogout(await dbContext(globals()), name));
    });

  db.command('env')
    .description('Print PostgreSQL environment variables for a database you are logged in to: eval $(tsh db env)')
    .option('--db <db>', 'the database (default: the only one you are logged in to)')
    .action(async (opts: { db?: string }) => {
      const ctx = await dbContext(globals());
      const c = dbConnection(ctx.profile, pickLogin(ctx, opts.db, 'name one with --db'));
      process.stdout.write(
        pgEnv(c)
          .map(([k, v]) => `export ${k}=${shellWord(v)}\n`)
          .join(''),
      );
    });

  db.command('config')
    .description('Print how to connect to a database you are logged in to')
    .argument('[db]', 'the database (default: the only one you are logged in to)')
    .option('--format <format>', 'text, cmd (the psql command), json or yaml')
    .action(async (name: string | undefined, opts: { format?: string }) => {
      if (opts.format !== undefined && !['text', 'cmd', 'json', 'yaml'].includes(opts.format)) {
        throw new BadParameterError(`unsupported --format "${opts.format}": use text, cmd, json, yaml`);
      }
      const ctx = await dbContext(globals());
      const c = dbConnection(ctx.profile, pickLogin(ctx, name, 'name one as an argument'));
      if (opts.format === 'cmd') process.stdout.write(`psql "${connectionUri(c)}"\n`);
      else print(parseFormat(opts.format), c, () => configText(c));
    });
}
