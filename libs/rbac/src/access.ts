import { evaluateSelector, type Labels } from './labels.js';
import type { Role } from './role.js';
import { provisions } from './options.js';
import { applyTraits, type Traits } from './traits.js';

export type DbAccessRequest = {
  dbLabels: Labels;
  dbUser: string;
  dbName: string;
  /**
   * The session provisions its database user (create_db_user_mode on, admin_user set, db user equal to
   * the Teleport username, all checked by the caller): db_users are not checked, as in Teleport.
   */
  autoCreateUser?: boolean;
};

export type AccessDecision = { allowed: true; matchedRoles: string[] } | { allowed: false; message: string };

export const ACCESS_DENIED_MESSAGE = 'access to db denied. User does not have permissions. Confirm database user and name.';

const WILDCARD = '*';

function listMatches(values: string[] | undefined, value: string): boolean {
  return values !== undefined && (values.includes(value) || values.includes(WILDCARD));
}

// A deny selector that does not compile (through a trait) denies: fail closed.
function denyLabelsMatch(role: Role, dbLabels: Labels): boolean {
  return evaluateSelector(role.spec.deny.db_labels, dbLabels) !== 'no-match';
}

function allowLabelsMatch(role: Role, dbLabels: Labels): boolean {
  return evaluateSelector(role.spec.allow.db_labels, dbLabels) === 'match';
}

/**
 * Teleport's database access check. Deny first, across all roles: a role whose deny labels match the
 * database, or whose deny db_users / db_names hold the requested value or `*`, denies. Then some role
 * must match the labels, the db user and the db name (exact or `*`).
 */
export function decideDbAccess(roles: Role[], traits: Traits, request: DbAccessRequest): AccessDecision {
  const expanded = roles.map((role) => applyTraits(role, traits));
  const checkUser = !request.autoCreateUser;
  const denied = expanded.some(
    (role) =>
      denyLabelsMatch(role, request.dbLabels) ||
      (checkUser && listMatches(role.spec.deny.db_users, request.dbUser)) ||
      listMatches(role.spec.deny.db_names, request.dbName),
  );
  if (denied) return { allowed: false, message: ACCESS_DENIED_MESSAGE };
  const matchedRoles = expanded
    .filter(
      (role) =>
        allowLabelsMatch(role, request.dbLabels) &&
        (!checkUser || listMatches(role.spec.allow.db_users, request.dbUser)) &&
        listMatches(role.spec.allow.db_names, request.dbName),
    )
    .map((role) => role.metadata.name);
  if (matchedRoles.length === 0) return { allowed: false, message: ACCESS_DENIED_MESSAGE };
  return { allowed: true, matchedRoles };
}

/** Whether `tsh db ls` shows the database: some role's allow labels match and no role's deny labels do. */
export function canSeeDb(roles: Role[], traits: Traits, dbLabels: Labels): boolean {
  const expanded = roles.map((role) => applyTraits(role, traits));
  return !expanded.some((role) => denyLabelsMatch(role, dbLabels)) && expanded.some((role) => allowLabelsMatch(role, dbLabels));
}

type ListField = 'db_users' | 'db_names' | 'db_roles';

function allowedValues(
  roles: Role[],
  traits: Traits,
  dbLabels: Labels,
  field: ListField,
  contributes: (role: Role) => boolean = () => true,
): string[] {
  const expanded = roles.map((role) => applyTraits(role, traits));
  // Any deny label match denies the database as a whole.
  if (expanded.some((role) => denyLabelsMatch(role, dbLabels))) return [];
  const denied = new Set(expanded.flatMap((role) => role.spec.deny[field] ?? []));
  if (denied.has(WILDCARD)) return [];
  const allowed = new Set(
    expanded.filter((role) => contributes(role) && allowLabelsMatch(role, dbLabels)).flatMap((role) => role.spec.allow[field] ?? []),
  );
  return [...allowed].filter((value) => !denied.has(value)).sort();
}

/** The db users the roles allow on a database, for `tsh db ls -v`; `*` stays as written. */
export function allowedDbUsers(roles: Role[], traits: Traits, dbLabels: Labels): string[] {
  return allowedValues(roles, traits, dbLabels, 'db_users');
}

/** The db names the roles allow on a database, for `tsh db ls -v`; `*` stays as written. */
export function allowedDbNames(roles: Role[], traits: Traits, dbLabels: Labels): string[] {
  return allowedValues(roles, traits, dbLabels, 'db_names');
}

/**
 * The database roles a provisioned user gets: db_roles of the roles that turn provisioning on
 * (create_db_user_mode keep or best_effort_drop, as in Teleport) and whose allow labels match,
 * less every deny db_roles entry.
 */
export function allowedDbRoles(roles: Role[], traits: Traits, dbLabels: Labels): string[] {
  return allowedValues(roles, traits, dbLabels, 'db_roles', provisions);
}

export type DbPermissionRule = NonNullable<Role['spec']['allow']['db_permissions']>[number];

/**
 * The db_permissions of a session: allow rules of the roles whose allow labels match the database,
 * and every role's deny rules (a denied permission is never granted). None when a deny label matches.
 */
export function dbPermissions(roles: Role[], traits: Traits, dbLabels: Labels): { allow: DbPermissionRule[]; deny: DbPermissionRule[] } {
  const expanded = roles.map((role) => applyTraits(role, traits));
  if (expanded.some((role) => denyLabelsMatch(role, dbLabels))) return { allow: [], deny: [] };
  return {
    allow: expanded.filter((role) => allowLabelsMatch(role, dbLabels)).flatMap((role) => role.spec.allow.db_permissions ?? []),
    deny: expanded.flatMap((role) => role.spec.deny.db_permissions ?? []),
  };
}
