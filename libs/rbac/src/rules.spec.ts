import { parseRole, type Role, type RoleConditions } from './role.js';
import { checkRule, sessionAccess } from './rules.js';

const role = (name: string, allow: RoleConditions, deny: RoleConditions = {}): Role =>
  parseRole({ kind: 'role', version: 'v7', metadata: { name }, spec: { allow, deny } });

describe('checkRule', () => {
  const auditor = role('auditor', { rules: [{ resources: ['session', 'event'], verbs: ['list', 'read'] }] });
  const editor = role('editor', { rules: [{ resources: ['*'], verbs: ['*'] }] });

  it.each<[string, Role[], string, 'list' | 'read' | 'create' | 'update' | 'delete', boolean]>([
    ['a listed resource and verb', [auditor], 'session', 'read', true],
    ['a listed resource, another verb', [auditor], 'session', 'delete', false],
    ['another resource', [auditor], 'role', 'read', false],
    ['* resources and * verbs', [editor], 'role', 'delete', true],
    ['* verbs on one resource', [role('tokens', { rules: [{ resources: ['token'], verbs: ['*'] }] })], 'token', 'create', true],
    ['* resources for one verb', [role('lister', { rules: [{ resources: ['*'], verbs: ['list'] }] })], 'db', 'list', true],
    ['* resources for one verb, another verb', [role('lister', { rules: [{ resources: ['*'], verbs: ['list'] }] })], 'db', 'update', false],
    ['no roles', [], 'session', 'read', false],
    ['a role without rules', [role('plain', { db_labels: { '*': '*' } })], 'session', 'read', false],
  ])('%s', (_case, roles, resource, verb, expected) => {
    expect(checkRule(roles, resource, verb)).toBe(expected);
  });

  it('lets a deny rule in any role win over an allow', () => {
    // given
    const noRoleEdits = role('no-role-edits', {}, { rules: [{ resources: ['role'], verbs: ['create', 'update', 'delete'] }] });
    // when / then
    expect(checkRule([editor, noRoleEdits], 'role', 'update')).toBe(false);
    expect(checkRule([editor, noRoleEdits], 'role', 'read')).toBe(true);
    expect(checkRule([editor, noRoleEdits], 'user', 'update')).toBe(true);
  });

  it('lets a * deny rule deny everything', () => {
    const lockdown = role('lockdown', {}, { rules: [{ resources: ['*'], verbs: ['*'] }] });
    expect(checkRule([editor, lockdown], 'session', 'list')).toBe(false);
  });
});

describe('sessionAccess', () => {
  const auditor = role('auditor', { rules: [{ resources: ['session', 'event'], verbs: ['list', 'read'] }] });
  const editor = role('editor', { rules: [{ resources: ['*'], verbs: ['*'] }] });
  const access = role('access', { db_labels: { '*': '*' } });

  it.each<[string, Role[], 'all' | 'own' | 'none']>([
    ['auditor', [auditor], 'all'],
    ['editor', [editor], 'all'],
    ['a role without rules', [access], 'own'],
    ['no roles', [], 'own'],
    ['a deny rule over an auditor', [auditor, role('blind', {}, { rules: [{ resources: ['session'], verbs: ['read'] }] })], 'none'],
  ])('%s', (_case, roles, expected) => {
    expect(sessionAccess(roles, 'read')).toBe(expected);
  });
});
