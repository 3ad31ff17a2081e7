import { AccessDeniedError } from '#libs/common';
import type { DbResource } from '#libs/config';
import { parseRole } from '#libs/rbac';
import { decideAutoUser } from './auto-user.js';

const role = (name: string, mode: string | undefined, allow: Record<string, unknown>) =>
  parseRole({
    kind: 'role',
    version: 'v7',
    metadata: { name },
    spec: { options: mode ? { create_db_user_mode: mode } : {}, allow: { db_labels: { '*': '*' }, db_names: ['*'], ...allow } },
  });
const db = (admin?: string): DbResource => ({
  kind: 'db',
  version: 'v3',
  metadata: { name: 'example', labels: {} },
  spec: { protocol: 'postgres', uri: 'localhost:5432', ...(admin ? { admin_user: { name: admin } } : {}) },
});
const keep = role('auto', 'keep', { db_roles: ['reader', '{{internal.db_roles}}'] });
const drop = role('drop', 'best_effort_drop', { db_roles: ['writer'] });
const traits = { db_roles: ['analyst'] };
const alice = { user: 'alice', db_user: 'alice' };

describe('decideAutoUser', () => {
  it('is off without a provisioning role', () => {
    expect(decideAutoUser([role('plain', undefined, { db_users: ['*'] })], {}, db('admin'), alice)).toBeUndefined();
  });

  it('takes the strongest mode and every allowed role, templated', () => {
    expect(decideAutoUser([keep, drop], traits, db('admin'), alice)).toEqual({
      mode: 'best_effort_drop',
      db_roles: ['analyst', 'reader', 'writer'],
      db_permissions: { allow: [], deny: [] },
    });
  });

  it('narrows to --db-roles, and refuses roles not allowed', () => {
    expect(decideAutoUser([keep], traits, db('admin'), { ...alice, db_roles: ['reader'] })?.db_roles).toEqual(['reader']);
    expect(() => decideAutoUser([keep], traits, db('admin'), { ...alice, db_roles: ['reader', 'dba'] })).toThrow(
      /database role "dba" not allowed for you on database "example" \(allowed: analyst, reader\)/,
    );
  });

  it('refuses a database without admin user, and another database user than the Teleport username', () => {
    expect(() => decideAutoUser([keep], traits, db(), alice)).toThrow(AccessDeniedError);
    expect(() => decideAutoUser([keep], traits, db('admin'), { user: 'alice', db_user: 'bob' })).toThrow(
      'please use your Teleport username ("alice") to connect instead of "bob"',
    );
  });

  it('refuses db_roles and db_permissions together', () => {
    const perms = role('perms', 'keep', { db_permissions: [{ match: { object_kind: 'table' }, permissions: ['SELECT'] }] });
    expect(() => decideAutoUser([keep, perms], traits, db('admin'), alice)).toThrow(/mutually exclusive/);
    expect(decideAutoUser([perms], traits, db('admin'), alice)?.db_permissions.allow).toHaveLength(1);
  });
});
