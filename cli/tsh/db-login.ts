import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { NotFoundError } from '#libs/common';
import {
  dbLogins,
  editServiceFile,
  deleteDbCerts,
  keyPath,
  pgServiceFilePath,
  removeDbLogin,
  removeServiceSection,
  saveDbLogin,
  tshHome,
  upsertServiceSection,
  type DbLogin,
  type DbView,
} from '#libs/client';
import type { AuthRpc } from '#libs/events';
import { list } from '../shared/run.js';
import { dbConnection, serviceConninfo, serviceEntries } from './db-connection.js';
import { publicKeyOf, type DbContext } from './db-context.js';
import { requireFresh } from './identity.js';

export interface DbRouteFlags {
  dbUser?: string;
  dbName?: string;
  dbRoles?: string;
}

/** The only allowed value, unless there are several or `*`: then the user has to say. */
function soleValue(allowed: string[]): string | undefined {
  return allowed.length === 1 && allowed[0] !== '*' ? allowed[0] : undefined;
}

/** The database as the user's roles see it. */
export async function dbView(ctx: DbContext, db: string): Promise<DbView> {
  const view = (await ctx.api.get<DbView[]>('/v1/webapi/dbs')).find((d) => d.name === db);
  if (!view) throw new NotFoundError(`database "${db}" not found`);
  return view;
}

/**
 * `tsh db login`: a certificate for the user's current key routed to `db`, stored next to the key, and
 * the `[<cluster>-<db>]` section of the connection service file pointing at them.
 */
export async function dbLogin(ctx: DbContext, db: string, flags: DbRouteFlags, known?: DbView): Promise<DbLogin> {
  requireFresh(ctx.active);
  const view = known ?? (await dbView(ctx, db));
  // With provisioning, the database user is the Teleport username (db_users do not apply).
  const username = flags.dbUser ?? (view.auto_user ? ctx.active.identity.username : soleValue(view.allowed_users));
  const database = flags.dbName ?? soleValue(view.allowed_names);
  const roles = list(flags.dbRoles);
  const { privateKeyPem } = ctx.active.profile.identity;
  const signed = await ctx.api.post<AuthRpc.SignedUserCert>('/v1/webapi/certs/db', {
    service_name: db,
    ...(username !== undefined ? { username } : {}),
    ...(database !== undefined ? { database } : {}),
    ...(roles.length ? { roles } : {}),
    public_key: publicKeyOf(privateKeyPem),
  });
  saveDbLogin(ctx.profile, db, signed.cert, privateKeyPem, signed.cas.host ?? []);
  const login = dbLogins(ctx.profile).find((l) => l.name === db)!;
  const connection = dbConnection(ctx.profile, login);
  editServiceFile(pgServiceFilePath(), (text) => upsertServiceSection(text, connection.service, serviceEntries(connection)));
  return login;
}

/** Whether a stored login serves this connection: unexpired, for the current key, with the route asked for. */
export function loginServes(ctx: DbContext, login: DbLogin, flags: DbRouteFlags): boolean {
  const { privateKeyPem } = ctx.active.profile.identity;
  const publicKey = publicKeyOf(privateKeyPem);
  let storedKey = '';
  try {
    storedKey = readFileSync(keyPath(ctx.profile), 'utf8');
  } catch {
    return false;
  }
  const roles = list(flags.dbRoles);
  return (
    login.expires.getTime() > Date.now() + 10_000 &&
    storedKey === privateKeyPem &&
    new X509Certificate(login.certPem).publicKey.export({ type: 'spki', format: 'pem' }).toString() === publicKey &&
    (flags.dbUser === undefined || flags.dbUser === login.route.username) &&
    (flags.dbName === undefined || flags.dbName === login.route.database) &&
    (roles.length === 0 || roles.sort().join(',') === [...(login.route.roles ?? [])].sort().join(','))
  );
}

/** What `tsh db login` prints: Teleport's words, and both ways to connect (placeholders for what is not set). */
export function loginMessage(ctx: DbContext, login: DbLogin): string {
  const c = dbConnection(ctx.profile, login);
  const tsh = [
    'tsh db connect',
    ...(c.user === undefined ? ['--db-user=<user>'] : []),
    ...(c.database === undefined ? ['--db-name=<name>'] : []),
    login.name,
  ].join(' ');
  const psql = serviceConninfo({
    service: c.service,
    user: c.user === undefined ? '<user>' : undefined,
    database: c.database === undefined ? '<dbname>' : undefined,
  });
  return (
    `Connection information for database "${login.name}" has been saved.\n\n` +
    `You can now connect to it using the following command:\n\n  ${tsh}\n\n` +
    `Or directly with psql:\n\n  psql "${psql}"\n`
  );
}

/** `tsh db logout [DB]`: removes the certificate(s) and their service file section(s). */
export function dbLogout(ctx: DbContext, db: string | undefined): string {
  const logins = dbLogins(ctx.profile);
  const targets = db === undefined ? logins : logins.filter((l) => l.name === db);
  if (db !== undefined && targets.length === 0) throw new NotFoundError(`not logged in to database "${db}"`);
  for (const login of targets) {
    const { service } = dbConnection(ctx.profile, login);
    editServiceFile(pgServiceFilePath(), (text) => removeServiceSection(text, service));
    removeDbLogin(ctx.profile, login.name);
  }
  return targets.length === 1 ? `Logged out of database ${targets[0]!.name}\n` : 'Logged out of all databases\n';
}

/**
 * Database logins end with the key they were issued for: `tsh logout` (every proxy) and `tsh login`
 * (a new key for that proxy) remove them and their service file sections.
 */
export function forgetDbLogins(only?: { proxyHost: string; user: string }): void {
  const services = deleteDbCerts(tshHome(), only);
  if (services.length) editServiceFile(pgServiceFilePath(), (text) => services.reduce((t, name) => removeServiceSection(t, name), text));
}
