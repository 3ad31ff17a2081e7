import { parseHostPort } from '#libs/common';
import { caPath, dbCertPath, dbServiceName, keyPath, type DbLogin, type DbProfile, type ServiceEntries } from '#libs/client';

/** How a PostgreSQL client reaches a database the user is logged in to: through the proxy, with the db certificate. */
export interface DbConnection {
  name: string;
  service: string;
  host: string;
  port: number;
  user?: string;
  database?: string;
  ca: string;
  cert: string;
  key: string;
}

export function dbConnection(profile: DbProfile, login: DbLogin): DbConnection {
  // PostgreSQL clients reach the proxy on its web port: it tells the protocols apart.
  const { host, port } = parseHostPort(profile.proxyAddr, 443);
  return {
    name: login.name,
    service: dbServiceName(profile, login.name),
    host,
    port,
    ...(login.route.username !== undefined ? { user: login.route.username } : {}),
    ...(login.route.database !== undefined ? { database: login.route.database } : {}),
    ca: caPath(profile),
    cert: dbCertPath(profile, login.name),
    key: keyPath(profile),
  };
}

/** The `[<cluster>-<db>]` section of the connection service file. */
export function serviceEntries(c: DbConnection): ServiceEntries {
  return {
    host: c.host,
    port: String(c.port),
    ...(c.user !== undefined ? { user: c.user } : {}),
    ...(c.database !== undefined ? { dbname: c.database } : {}),
    sslmode: 'verify-full',
    sslrootcert: c.ca,
    sslcert: c.cert,
    sslkey: c.key,
    // The proxy speaks TLS only; a GSSAPI encryption attempt would be a wasted round trip.
    gssencmode: 'disable',
  };
}

/** libpq environment variables, for `eval $(tsh db env)`. */
export function pgEnv(c: DbConnection): [string, string][] {
  return [
    ['PGHOST', c.host],
    ['PGPORT', String(c.port)],
    ['PGSSLMODE', 'verify-full'],
    ['PGSSLROOTCERT', c.ca],
    ['PGSSLCERT', c.cert],
    ['PGSSLKEY', c.key],
    ...(c.user !== undefined ? [['PGUSER', c.user] as [string, string]] : []),
    ...(c.database !== undefined ? [['PGDATABASE', c.database] as [string, string]] : []),
  ];
}

/** The psql connection string that uses the service file section: `service=... user=... dbname=...`. */
export function serviceConninfo(c: { service: string; user?: string; database?: string }): string {
  return [
    `service=${conninfoValue(c.service)}`,
    ...(c.user !== undefined ? [`user=${conninfoValue(c.user)}`] : []),
    ...(c.database !== undefined ? [`dbname=${conninfoValue(c.database)}`] : []),
  ].join(' ');
}

/** A self-contained URI (no service file needed), as `tsh db config --format=cmd` prints it. */
export function connectionUri(c: DbConnection): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%2F/g, '/');
  const params = { sslrootcert: c.ca, sslcert: c.cert, sslkey: c.key, sslmode: 'verify-full', gssencmode: 'disable' };
  const query = Object.entries(params)
    .map(([k, v]) => `${k}=${enc(v)}`)
    .join('&');
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  const user = c.user !== undefined ? `${encodeURIComponent(c.user)}@` : '';
  const db = c.database !== undefined ? `/${encodeURIComponent(c.database)}` : '';
  return `postgres://${user}${host}:${c.port}${db}?${query}`;
}

/** A conninfo value: bare when it can be, else single-quoted with `\` escapes. */
function conninfoValue(v: string): string {
  return v !== '' && /^[^\s'\\]+$/.test(v) ? v : `'${v.replace(/[\\']/g, '\\$&')}'`;
}

/** A word for a POSIX shell: bare when safe, else single-quoted. */
export function shellWord(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}
