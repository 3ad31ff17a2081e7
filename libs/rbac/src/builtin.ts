import type { Role } from './role.js';

function builtin(name: string, description: string, allow: Role['spec']['allow']): Role {
  return { kind: 'role', version: 'v7', metadata: { name, description }, spec: { options: {}, allow, deny: {} } };
}

/** Roles every cluster starts with; `tctl users add --roles=access` refers to them by name. */
export const BUILTIN_ROLES: Role[] = [
  builtin('access', "Connect to every database as the db users and db names in the user's traits", {
    db_labels: { '*': '*' },
    db_names: ['{{internal.db_names}}'],
    db_users: ['{{internal.db_users}}'],
    db_roles: ['{{internal.db_roles}}'],
  }),
  // Teleport's editor holds list, create, read, update and delete on lock among its rules; `*` covers them.
  builtin('editor', 'Edit cluster configuration: roles, users, databases, join tokens and locks', {
    rules: [{ resources: ['*'], verbs: ['*'] }],
    impersonate: { roles: ['Db'] },
  }),
  builtin('auditor', 'Read recorded sessions and audit events', {
    rules: [{ resources: ['session', 'event'], verbs: ['list', 'read'] }],
  }),
];
