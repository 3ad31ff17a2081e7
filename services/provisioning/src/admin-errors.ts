import { ProvisioningError } from './errors.js';
import { PgError } from './simple-query.js';
import { quoteIdent as id } from './simple-query.js';

/** An error PostgreSQL sent while the admin connected: its fields, as upstream connections report them. */
interface RefusedLike {
  fields: { code: string; message: string; detail?: string; hint?: string };
}

function isRefused(err: unknown): err is RefusedLike {
  return typeof err === 'object' && err !== null && 'fields' in err && typeof (err as RefusedLike).fields?.code === 'string';
}

/** Why the admin user could not connect, with the fix; other failures (network, TLS) as they are. */
export function adminConnectError(err: unknown, admin: string, database: string): Error {
  if (!isRefused(err)) return err as Error;
  const { code, message, detail } = err.fields;
  const prefix = `the admin user "${admin}" cannot connect to database "${database}" for automatic user provisioning: `;
  if (code === '42501' && /CONNECT privilege/.test(detail ?? ''))
    return new ProvisioningError({
      code,
      message,
      ...(detail ? { detail } : {}),
      hint: `the admin user needs CONNECT: GRANT CONNECT ON DATABASE ${id(database)} TO ${id(admin)}`,
    });
  if (code === '28000' && /does not exist/.test(message))
    return new ProvisioningError({
      code,
      message: `${prefix}${message}`,
      hint: `create it as the guide says: CREATE USER ${id(admin)} login createrole; or fix admin_user.name`,
    });
  if (code === '28000')
    return new ProvisioningError({
      code,
      message: `${prefix}${message}`,
      hint: "the admin authenticates with a client certificate like any user: pg_hba.conf needs 'hostssl all all 0.0.0.0/0 cert'",
    });
  if (code === '3D000')
    return new ProvisioningError({
      code,
      message: `${prefix}${message}`,
      hint: 'fix admin_user.default_database, or create that database',
    });
  return new ProvisioningError({ code, message: `${prefix}${message}`, ...(detail ? { detail } : {}) });
}

function hintFor(err: PgError, admin: string): string | undefined {
  if (err.code === '42501' && /permission denied to create role/.test(err.message))
    return `the admin user must be able to create users: ALTER ROLE ${id(admin)} CREATEROLE`;
  const grantRole = /permission denied to grant role "(.+)"/.exec(err.message);
  if (err.code === '42501' && grantRole) return `GRANT ${id(grantRole[1]!)} TO ${id(admin)} WITH ADMIN OPTION`;
  const missingRole = /role "(.+)" does not exist/.exec(err.message);
  if (err.code === '42704' && missingRole)
    return `create the database role (CREATE ROLE ${id(missingRole[1]!)}) or remove it from db_roles of your Teleport roles`;
  if (err.code === '25006') return 'automatic user provisioning needs a writable primary endpoint, not a read replica';
  if (err.code === '55P03') return 'another session of this user held the provisioning lock too long; try again';
  return err.hint;
}

/** An error of the activation SQL as the client sees it, in Teleport's words, with the fix when we know it. */
export function activationError(err: unknown, user: string, admin: string): Error {
  if (!(err instanceof PgError)) return err as Error;
  const hint = hintFor(err, admin);
  return new ProvisioningError({
    code: err.code,
    message:
      `your Teleport role requires automatic database user provisioning but an attempt to activate database user "${user}" ` +
      `failed due to the following error: ERROR: ${err.message} (SQLSTATE ${err.code})`,
    ...(err.detail ? { detail: err.detail } : {}),
    ...(hint ? { hint } : {}),
  });
}
