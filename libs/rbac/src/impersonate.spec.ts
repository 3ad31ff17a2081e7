import { canImpersonateRole } from './impersonate.js';
import { parseRole, type Role, type RoleConditions } from './role.js';

const role = (name: string, allow: RoleConditions, deny: RoleConditions = {}): Role =>
  parseRole({ kind: 'role', version: 'v7', metadata: { name }, spec: { allow, deny } });

describe('canImpersonateRole', () => {
  it.each<[string, Role[], boolean]>([
    ['allow lists the role', [role('a', { impersonate: { roles: ['Db'] } })], true],
    ['allow lists *', [role('a', { impersonate: { roles: ['*'] } })], true],
    ['allow lists other roles', [role('a', { impersonate: { roles: ['Proxy'] } })], false],
    ['allow lists only users', [role('a', { impersonate: { users: ['Db'] } })], false],
    ['no impersonate section', [role('a', {})], false],
    ['another role denies it', [role('a', { impersonate: { roles: ['*'] } }), role('b', {}, { impersonate: { roles: ['Db'] } })], false],
    ['another role denies *', [role('a', { impersonate: { roles: ['Db'] } }), role('b', {}, { impersonate: { roles: ['*'] } })], false],
  ])('%s: %s', (_case, roles, expected) => {
    expect(canImpersonateRole(roles, {}, 'Db')).toBe(expected);
  });

  it('expands traits in the impersonate lists', () => {
    const roles = [role('a', { impersonate: { roles: ['{{external.system_roles}}'] } })];
    expect(canImpersonateRole(roles, { system_roles: ['Db'] }, 'Db')).toBe(true);
    expect(canImpersonateRole(roles, {}, 'Db')).toBe(false);
  });
});
