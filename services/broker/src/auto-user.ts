import { AccessDeniedError } from '#libs/common';
import type { DbResource } from '#libs/config';
import type { DataPlane } from '#libs/events';
import { allowedDbRoles, createDbUserMode, dbPermissions, type Labels, type Role, type Traits } from '#libs/rbac';

export interface AutoUserRequest {
  user: string;
  db_user: string;
  /** Roles asked for with `--db-roles`; none means all allowed. */
  db_roles?: string[];
}

/** Whether the roles turn database user provisioning on for this database (it then ignores db_users). */
export function provisioningOn(roles: Role[], traits: Traits, labels: Labels): boolean {
  return createDbUserMode(roles, traits, labels) !== 'off';
}

/**
 * What the session's provisioned user gets, or undefined when the roles leave provisioning off.
 * Refuses what Teleport refuses: no admin user on the database, a database user other than the
 * Teleport username, database roles asked for that no role allows, roles and object permissions at once.
 */
export function decideAutoUser(roles: Role[], traits: Traits, db: DbResource, req: AutoUserRequest): DataPlane.AutoUser | undefined {
  const labels = db.metadata.labels ?? {};
  const mode = createDbUserMode(roles, traits, labels);
  if (mode === 'off') return undefined;
  const name = db.metadata.name;
  if (!db.spec.admin_user?.name) {
    throw new AccessDeniedError(
      `your Teleport role requires automatic database user provisioning but database "${name}" has no admin user: ` +
        `set admin_user.name in its db_service entry (or its kind: db resource) to a user created with ` +
        `'CREATE USER "teleport-admin" login createrole'`,
    );
  }
  if (req.db_user !== req.user) {
    throw new AccessDeniedError(`please use your Teleport username ("${req.user}") to connect instead of "${req.db_user}"`);
  }
  const allowed = allowedDbRoles(roles, traits, labels);
  const requested = [...new Set(req.db_roles ?? [])];
  const notAllowed = requested.filter((role) => !allowed.includes(role));
  if (notAllowed.length) {
    throw new AccessDeniedError(
      `database role${notAllowed.length > 1 ? 's' : ''} ${notAllowed.map((r) => `"${r}"`).join(', ')} not allowed for you on database ` +
        `"${name}" (allowed: ${allowed.length ? allowed.join(', ') : 'none'}); 'tsh db ls -v' lists them, --db-roles may only narrow them`,
    );
  }
  const permissions = dbPermissions(roles, traits, labels);
  const dbRoles = requested.length ? requested.sort() : allowed;
  if (dbRoles.length && permissions.allow.length) {
    throw new AccessDeniedError(
      'fine-grained database permissions and database roles are mutually exclusive, yet both were provided: ' +
        `give database "${name}" either db_roles or db_permissions in your Teleport roles, not both`,
    );
  }
  return { mode, db_roles: dbRoles, db_permissions: permissions };
}
