import { decideDbAccess } from './access.js';
import { BUILTIN_ROLES } from './builtin.js';
import { canImpersonateRole } from './impersonate.js';
import { parseRole } from './role.js';
import { checkRule } from './rules.js';

const builtin = (name: string) => BUILTIN_ROLES.find((r) => r.metadata.name === name)!;

describe('BUILTIN_ROLES', () => {
  it('are access, editor and auditor, each v7, valid and described', () => {
    expect(BUILTIN_ROLES.map((r) => r.metadata.name)).toEqual(['access', 'editor', 'auditor']);
    for (const role of BUILTIN_ROLES) {
      expect(role.version).toBe('v7');
      expect(role.metadata.description).toEqual(expect.any(String));
      expect(parseRole(structuredClone(role))).toEqual(role);
    }
  });

  it('access: the db users and names of the user traits on every database', () => {
    const traits = { db_users: ['alice'], db_names: ['main'] };
    expect(decideDbAccess([builtin('access')], traits, { dbLabels: {}, dbUser: 'alice', dbName: 'main' }).allowed).toBe(true);
    expect(decideDbAccess([builtin('access')], traits, { dbLabels: { env: 'prod' }, dbUser: 'alice', dbName: 'other' }).allowed).toBe(
      false,
    );
    expect(checkRule([builtin('access')], 'role', 'read')).toBe(false);
    expect(checkRule([builtin('access')], 'lock', 'create')).toBe(false);
  });

  it('editor: every resource and verb, impersonates Db, reaches no database', () => {
    expect(checkRule([builtin('editor')], 'role', 'delete')).toBe(true);
    for (const verb of ['list', 'read', 'create', 'update', 'delete'] as const)
      expect(checkRule([builtin('editor')], 'lock', verb)).toBe(true);
    expect(canImpersonateRole([builtin('editor')], {}, 'Db')).toBe(true);
    expect(
      decideDbAccess([builtin('editor')], { db_users: ['*'], db_names: ['*'] }, { dbLabels: {}, dbUser: 'alice', dbName: 'main' }).allowed,
    ).toBe(false);
  });

  it('auditor: lists and reads sessions and events only', () => {
    expect(checkRule([builtin('auditor')], 'session', 'read')).toBe(true);
    expect(checkRule([builtin('auditor')], 'event', 'list')).toBe(true);
    expect(checkRule([builtin('auditor')], 'session', 'delete')).toBe(false);
    expect(checkRule([builtin('auditor')], 'role', 'read')).toBe(false);
    expect(checkRule([builtin('auditor')], 'lock', 'list')).toBe(false);
  });
});
