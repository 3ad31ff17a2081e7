import type { DataPlane } from '#libs/events';
import { matchLabels } from '#libs/rbac';
import { ProvisioningError } from './errors.js';

/** Table privileges db_permissions may grant (PostgreSQL's, as Teleport takes them). */
export const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] as const;

export interface DbObject {
  schema: string;
  name: string;
}

/** One privilege on one table: `schema.name` + privilege. */
export interface TableGrant extends DbObject {
  privilege: string;
}

export function grantKey(g: TableGrant): string {
  return JSON.stringify([g.schema, g.name, g.privilege]);
}

function checkPrivileges(rules: DataPlane.DbPermissionRule[]): void {
  for (const rule of rules)
    for (const p of rule.permissions)
      if (!(TABLE_PRIVILEGES as readonly string[]).includes(p.toUpperCase()))
        throw new ProvisioningError({
          code: '22023',
          message: `db_permissions: unknown table permission "${p}"; use ${TABLE_PRIVILEGES.join(', ')}`,
        });
}

/**
 * The table privileges a session gets: for each table, the permissions of every allow rule whose
 * match selects its labels (object_kind "table", schema, name, database, database_service_name,
 * protocol) less those of every matching deny rule.
 */
export function tableGrants(
  permissions: DataPlane.AutoUser['db_permissions'],
  tables: DbObject[],
  context: { database: string; service: string },
): TableGrant[] {
  checkPrivileges(permissions.allow);
  checkPrivileges(permissions.deny);
  const grants: TableGrant[] = [];
  for (const table of tables) {
    const labels = {
      object_kind: 'table',
      schema: table.schema,
      name: table.name,
      database: context.database,
      database_service_name: context.service,
      protocol: 'postgres',
    };
    const of = (rules: DataPlane.DbPermissionRule[]) =>
      new Set(rules.filter((r) => matchLabels(r.match, labels)).flatMap((r) => r.permissions.map((p) => p.toUpperCase())));
    const denied = of(permissions.deny);
    for (const privilege of [...of(permissions.allow)].sort()) if (!denied.has(privilege)) grants.push({ ...table, privilege });
  }
  return grants;
}

/** Teleport's db.session.permissions.update fields: per privilege the object counts, and the objects touched per kind. */
export function permissionSummary(grants: TableGrant[]): {
  permission_summary: Array<{ permission: string; counts: Record<string, number> }>;
  affected_object_counts: Record<string, number>;
} {
  const byPrivilege = new Map<string, number>();
  for (const g of grants) byPrivilege.set(g.privilege, (byPrivilege.get(g.privilege) ?? 0) + 1);
  const tables = new Set(grants.map((g) => JSON.stringify([g.schema, g.name])));
  return {
    permission_summary: [...byPrivilege]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([permission, n]) => ({ permission, counts: { table: n } })),
    affected_object_counts: tables.size ? { table: tables.size } : {},
  };
}
