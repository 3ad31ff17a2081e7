import { ProvisioningError, ROLES_CHANGED, USER_NOT_MANAGED } from './errors.js';
import { grantKey, type DbObject, type TableGrant } from './permissions.js';
import { PgError, quoteIdent as id, quoteLiteral as lit, type SimpleQueryClient } from './simple-query.js';

/** The group every provisioned user is in; a user outside it was not created by us and is never touched. */
export const AUTO_USER_GROUP = 'teleport-auto-user';
/** First key of the advisory locks taken per user (the second is hashtext of the user name). */
const LOCK_CLASS = 0x54500001;

export interface UserState {
  exists: boolean;
  managed: boolean;
  canLogin: boolean;
  /** Roles granted besides teleport-auto-user, sorted. */
  roles: string[];
}

export async function lockUser(db: SimpleQueryClient, user: string): Promise<void> {
  await db.query(`SELECT pg_advisory_lock(${LOCK_CLASS}, hashtext(${lit(user)}))`);
}

export async function unlockUser(db: SimpleQueryClient, user: string): Promise<void> {
  await db.query(`SELECT pg_advisory_unlock(${LOCK_CLASS}, hashtext(${lit(user)}))`);
}

export async function groupExists(db: SimpleQueryClient): Promise<boolean> {
  return (await db.query(`SELECT 1 FROM pg_roles WHERE rolname = ${lit(AUTO_USER_GROUP)}`)).length > 0;
}

/** Creates teleport-auto-user; another worker creating it at the same moment is fine. */
export async function createGroup(db: SimpleQueryClient): Promise<void> {
  try {
    await db.query(`CREATE ROLE ${id(AUTO_USER_GROUP)}`);
  } catch (err) {
    if (err instanceof PgError && (err.code === '42710' || err.code === '23505')) return;
    throw err;
  }
  // PostgreSQL 16+ lets a CREATEROLE user grant only roles it holds WITH ADMIN OPTION (it gets that
  // on roles it creates; this covers a group created by someone else).
}

export async function ensureGroupAdmin(db: SimpleQueryClient): Promise<void> {
  const [row] = await db.query(
    `SELECT current_setting('server_version_num')::int >= 160000 AS v16, ` +
      `pg_has_role(current_user, ${lit(AUTO_USER_GROUP)}, 'USAGE WITH ADMIN OPTION') AS admin, ` +
      `(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super`,
  );
  if (row?.v16 === 't' && row.admin !== 't' && row.super !== 't')
    await db.query(`GRANT ${id(AUTO_USER_GROUP)} TO current_user WITH ADMIN OPTION`);
}

export async function userState(db: SimpleQueryClient, user: string): Promise<UserState> {
  const [row] = await db.query(
    `SELECT r.rolcanlogin AS login, ` +
      `EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid AND g.rolname = ${lit(AUTO_USER_GROUP)}) AS managed, ` +
      `COALESCE((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid ` +
      `WHERE m.member = r.oid AND g.rolname <> ${lit(AUTO_USER_GROUP)}), '') AS roles ` +
      `FROM pg_roles r WHERE r.rolname = ${lit(user)}`,
  );
  if (!row) return { exists: false, managed: false, canLogin: false, roles: [] };
  return { exists: true, managed: row.managed === 't', canLogin: row.login === 't', roles: row.roles ? row.roles.split(',') : [] };
}

/** Backends of the user other than `exceptPid` (the one of a session that is ending). */
export async function liveConnections(db: SimpleQueryClient, user: string, exceptPid = 0): Promise<number> {
  const [row] = await db.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = ${lit(user)} AND pid <> ${exceptPid}`);
  return Number(row?.n ?? 0);
}

export async function backendGone(db: SimpleQueryClient, pid: number): Promise<boolean> {
  return (await db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = ${pid}`)).length === 0;
}

export function notManaged(user: string): ProvisioningError {
  return new ProvisioningError({
    code: USER_NOT_MANAGED,
    message: `user "${user}" already exists in this PostgreSQL database and is not managed by Teleport`,
    hint:
      `a database user of that name was created outside Teleport and is left untouched; rename or drop it, or add it to ` +
      `"${AUTO_USER_GROUP}" (GRANT "${AUTO_USER_GROUP}" TO "${user}") to let Teleport manage it`,
  });
}

export function rolesChanged(user: string): ProvisioningError {
  return new ProvisioningError({
    code: ROLES_CHANGED,
    message: `roles for user "${user}" has changed. Please quit all active connections and try again.`,
  });
}

/** Makes the user's roles exactly `roles` (besides teleport-auto-user). */
export async function setRoles(db: SimpleQueryClient, user: string, current: string[], roles: string[]): Promise<void> {
  for (const role of current.filter((r) => !roles.includes(r))) await db.query(`REVOKE ${id(role)} FROM ${id(user)}`);
  for (const role of roles.filter((r) => !current.includes(r))) await db.query(`GRANT ${id(role)} TO ${id(user)}`);
}

/** Databases on which the user holds CONNECT granted to it directly. */
async function connectGrants(db: SimpleQueryClient, user: string): Promise<string[]> {
  const rows = await db.query(
    `SELECT d.datname FROM pg_database d, aclexplode(d.datacl) a ` +
      `WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = ${lit(user)}) AND a.privilege_type = 'CONNECT'`,
  );
  return rows.map((r) => r.datname!);
}

/**
 * The user may connect to `database`: through PUBLIC, its roles, or a grant of ours when the database
 * revoked CONNECT from PUBLIC (REVOKE ALL ON DATABASE ... FROM PUBLIC) and the admin may grant it.
 */
export async function ensureConnect(db: SimpleQueryClient, user: string, database: string, admin: string): Promise<void> {
  const [row] = await db.query(
    `SELECT has_database_privilege(${lit(user)}, ${lit(database)}, 'CONNECT') AS can, ` +
      `has_database_privilege(current_user, ${lit(database)}, 'CONNECT WITH GRANT OPTION') AS grantable`,
  );
  if (row?.can === 't') return;
  if (row?.grantable === 't') return void (await db.query(`GRANT CONNECT ON DATABASE ${id(database)} TO ${id(user)}`));
  throw new ProvisioningError({
    code: '42501',
    message: `permission denied for database "${database}"`,
    detail: `User "${user}" does not have CONNECT privilege, and the admin user "${admin}" may not grant it.`,
    hint:
      `GRANT CONNECT ON DATABASE ${id(database)} TO ${id(admin)} WITH GRANT OPTION; ` +
      `or grant CONNECT to the database roles of your Teleport role (GRANT CONNECT ON DATABASE ${id(database)} TO "reader")`,
  });
}

export async function tables(db: SimpleQueryClient): Promise<DbObject[]> {
  const rows = await db.query(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace ` +
      `WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') ` +
      `AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' ORDER BY 1, 2`,
  );
  return rows.map((r) => ({ schema: r.schema!, name: r.name! }));
}

/** Table privileges granted to the user directly (whoever granted them). */
export async function currentTableGrants(db: SimpleQueryClient, user: string): Promise<TableGrant[]> {
  const rows = await db.query(
    `SELECT n.nspname AS schema, c.relname AS name, a.privilege_type AS privilege ` +
      `FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a ` +
      `WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = ${lit(user)}) ORDER BY 1, 2, 3`,
  );
  return rows.map((r) => ({ schema: r.schema!, name: r.name!, privilege: r.privilege! }));
}

async function schemaUsageGrants(db: SimpleQueryClient, user: string): Promise<string[]> {
  const rows = await db.query(
    `SELECT n.nspname FROM pg_namespace n, aclexplode(n.nspacl) a ` +
      `WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = ${lit(user)}) AND a.privilege_type = 'USAGE'`,
  );
  return rows.map((r) => r.nspname!);
}

export function sameGrants(a: TableGrant[], b: TableGrant[]): boolean {
  const keys = (g: TableGrant[]) => g.map(grantKey).sort().join('\n');
  return keys(a) === keys(b);
}

/** Makes the user's table privileges exactly `wanted`, with USAGE on their schemas (needed to use them). */
export async function setTableGrants(db: SimpleQueryClient, user: string, current: TableGrant[], wanted: TableGrant[]): Promise<void> {
  const want = new Set(wanted.map(grantKey));
  const have = new Set(current.map(grantKey));
  for (const g of current.filter((g) => !want.has(grantKey(g))))
    await db.query(`REVOKE ${g.privilege} ON TABLE ${id(g.schema)}.${id(g.name)} FROM ${id(user)}`);
  const added = wanted.filter((g) => !have.has(grantKey(g)));
  for (const g of added) await db.query(`GRANT ${g.privilege} ON TABLE ${id(g.schema)}.${id(g.name)} TO ${id(user)}`);
  // Without the grant option PostgreSQL only warns ("no privileges were granted"): check what took.
  const granted = new Set((added.length ? await currentTableGrants(db, user) : []).map(grantKey));
  const missing = added.find((g) => !granted.has(grantKey(g)));
  if (missing)
    throw new ProvisioningError({
      code: '42501',
      message: `the admin user may not grant ${missing.privilege} on table ${id(missing.schema)}.${id(missing.name)}`,
      hint: `GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA ${id(missing.schema)} TO <admin user> WITH GRANT OPTION`,
    });
  const schemas = new Set(wanted.map((g) => g.schema));
  const usage = await schemaUsageGrants(db, user);
  for (const schema of usage.filter((s) => !schemas.has(s))) await db.query(`REVOKE USAGE ON SCHEMA ${id(schema)} FROM ${id(user)}`);
  for (const schema of [...schemas].filter((s) => !usage.includes(s))) {
    const [row] = await db.query(`SELECT has_schema_privilege(${lit(user)}, ${lit(schema)}, 'USAGE') AS ok`);
    if (row?.ok !== 't') await db.query(`GRANT USAGE ON SCHEMA ${id(schema)} TO ${id(user)}`);
  }
}

/**
 * Takes back what sessions were given: roles, CONNECT on any database, and table privileges in the
 * database `objects` is connected to (the session's).
 */
export async function revokeAll(db: SimpleQueryClient, objects: SimpleQueryClient, user: string, roles: string[]): Promise<void> {
  await setRoles(db, user, roles, []);
  await setTableGrants(objects, user, await currentTableGrants(objects, user), []);
  for (const database of await connectGrants(db, user)) await db.query(`REVOKE CONNECT ON DATABASE ${id(database)} FROM ${id(user)}`);
}
