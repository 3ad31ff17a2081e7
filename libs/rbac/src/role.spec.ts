import { BadParameterError } from '#libs/common';
import { parse } from 'yaml';
import { parseRole } from './role.js';

const minimal = (overrides: Record<string, unknown> = {}) => ({
  kind: 'role',
  version: 'v7',
  metadata: { name: 'dev' },
  ...overrides,
});
const withSpec = (spec: unknown) => minimal({ spec });

describe('parseRole', () => {
  it('reads a role as users write it in YAML', () => {
    // given
    const text = `
kind: role
version: v7
metadata:
  name: auto-db-users
  description: Provisioned users
  labels:
    owner: platform
spec:
  options:
    create_db_user_mode: keep
    max_session_ttl: 8h
    require_session_mfa: true
  allow:
    db_labels:
      "*": "*"
    db_names: ["*"]
    db_roles: [reader, "{{internal.db_roles}}"]
    db_permissions:
      - match: { object_kind: table, schema: public }
        permissions: [SELECT]
    rules:
      - resources: [session]
        verbs: [list, read]
    impersonate:
      roles: [Db]
  deny:
    db_users: [postgres]
`;
    // when
    const role = parseRole(parse(text));
    // then
    expect(role).toEqual({
      kind: 'role',
      version: 'v7',
      metadata: { name: 'auto-db-users', description: 'Provisioned users', labels: { owner: 'platform' } },
      spec: {
        options: { create_db_user_mode: 'keep', max_session_ttl: '8h', require_session_mfa: true },
        allow: {
          db_labels: { '*': '*' },
          db_names: ['*'],
          db_roles: ['reader', '{{internal.db_roles}}'],
          db_permissions: [{ match: { object_kind: 'table', schema: 'public' }, permissions: ['SELECT'] }],
          rules: [{ resources: ['session'], verbs: ['list', 'read'] }],
          impersonate: { roles: ['Db'] },
        },
        deny: { db_users: ['postgres'] },
      },
    });
  });

  it('fills options, allow and deny when the spec leaves them out', () => {
    expect(parseRole(minimal()).spec).toEqual({ options: {}, allow: {}, deny: {} });
  });

  it('reads an empty YAML section (`deny:` with nothing under it) as empty', () => {
    expect(parseRole(parse('kind: role\nversion: v7\nmetadata: {name: dev}\nspec:\n  deny:\n')).spec.deny).toEqual({});
  });

  it('gives a v3 role without allow.db_labels access to every database label', () => {
    expect(parseRole(minimal({ version: 'v3' })).spec.allow.db_labels).toEqual({ '*': '*' });
  });

  it('keeps the db_labels a v3 role sets, even an empty one', () => {
    expect(parseRole(minimal({ version: 'v3', spec: { allow: { db_labels: { env: 'dev' } } } })).spec.allow.db_labels).toEqual({
      env: 'dev',
    });
    expect(parseRole(minimal({ version: 'v3', spec: { allow: { db_labels: {} } } })).spec.allow.db_labels).toEqual({});
  });

  it.each(['v4', 'v5', 'v6', 'v7'])('gives a %s role without allow.db_labels no database label', (version) => {
    expect(parseRole(minimal({ version })).spec.allow.db_labels).toBeUndefined();
  });

  it.each(['a', 'dev-team_1.ro', 'alice@example.com', 'x'.repeat(64)])('accepts the role name %j', (name) => {
    expect(parseRole(minimal({ metadata: { name } })).metadata.name).toBe(name);
  });

  describe('refuses, with one line naming the field', () => {
    it.each<[string, unknown, string]>([
      [
        'a value that is not a mapping',
        'role',
        'invalid role: expected a role mapping with kind, version, metadata and spec, got string "role"',
      ],
      ['a missing kind', { version: 'v7', metadata: { name: 'dev' } }, 'invalid role "dev": kind: required (set kind: role)'],
      ['a wrong kind', minimal({ kind: 'user' }), 'invalid role "dev": kind: must be "role", got "user"'],
      [
        'an unsupported version',
        minimal({ version: 'v8' }),
        'invalid role "dev": version: unsupported version "v8" (use v3, v4, v5, v6 or v7)',
      ],
      ['a missing version', { kind: 'role', metadata: { name: 'dev' } }, 'invalid role "dev": version: required'],
      ['a missing name', minimal({ metadata: {} }), 'invalid role: metadata.name: required'],
      [
        'a name with a space',
        minimal({ metadata: { name: 'dev team' } }),
        'invalid role: metadata.name: "dev team" is not a valid role name: use 1 to 64 letters, digits, ".", "_", "@" or "-"',
      ],
      ['an empty name', minimal({ metadata: { name: '' } }), 'invalid role: metadata.name: "" is not a valid role name'],
      ['a name of 65 characters', minimal({ metadata: { name: 'x'.repeat(65) } }), 'is not a valid role name'],
      ['an unknown top-level field', minimal({ sepc: {} }), 'invalid role "dev": sepc: unknown field'],
      [
        'an unknown metadata field',
        minimal({ metadata: { name: 'dev', revision: '1' } }),
        'invalid role "dev": metadata.revision: unknown field',
      ],
      [
        'an unknown condition field',
        withSpec({ allow: { db_lables: { env: 'dev' } } }),
        'invalid role "dev": spec.allow.db_lables: unknown field',
      ],
      [
        'an unknown option',
        withSpec({ options: { forward_agent: true } }),
        'invalid role "dev": spec.options.forward_agent: unknown field',
      ],
      [
        'an unknown rule field',
        withSpec({ deny: { rules: [{ resources: ['*'], verbs: ['*'], where: 'x' }] } }),
        'invalid role "dev": spec.deny.rules[0].where: unknown field',
      ],
      [
        'a label regular expression that does not compile',
        withSpec({ allow: { db_labels: { env: '^(prod$' } } }),
        'invalid role "dev": spec.allow.db_labels.env: "^(prod$" is not a valid regular expression',
      ],
      [
        'a regular expression in a label list, under a key with a slash',
        withSpec({ deny: { db_labels: { 'teleport.dev/origin': ['config', '^[a-$'] } } }),
        'invalid role "dev": spec.deny.db_labels["teleport.dev/origin"]: "^[a-$" is not a valid regular expression',
      ],
      [
        'a label value that is a number',
        withSpec({ allow: { db_labels: { version: 15 } } }),
        'invalid role "dev": spec.allow.db_labels.version: expected a string or a list of strings',
      ],
      [
        'a duration parseDuration refuses',
        withSpec({ options: { max_session_ttl: '12 hours' } }),
        'invalid role "dev": spec.options.max_session_ttl: invalid duration "12 hours"',
      ],
      [
        'a zero duration',
        withSpec({ options: { max_session_ttl: '0s' } }),
        'invalid role "dev": spec.options.max_session_ttl: duration "0s" must be greater than zero',
      ],
      [
        'an unknown create_db_user_mode',
        withSpec({ options: { create_db_user_mode: 'drop' } }),
        'invalid role "dev": spec.options.create_db_user_mode: unknown mode "drop" (use off, keep or best_effort_drop)',
      ],
      [
        'a string where a list belongs',
        withSpec({ allow: { db_users: 'alice' } }),
        'invalid role "dev": spec.allow.db_users: expected a list, got string "alice"',
      ],
      [
        'a number in a list',
        withSpec({ allow: { db_names: ['main', 5] } }),
        'invalid role "dev": spec.allow.db_names[1]: expected a string, got number 5',
      ],
      [
        'require_session_mfa not a boolean',
        withSpec({ options: { require_session_mfa: 'yes' } }),
        'invalid role "dev": spec.options.require_session_mfa: expected true or false, got string "yes"',
      ],
      [
        'an unknown verb',
        withSpec({ allow: { rules: [{ resources: ['role'], verbs: ['write'] }] } }),
        'invalid role "dev": spec.allow.rules[0].verbs[0]: unknown verb "write" (use list, read, create, update, delete or *)',
      ],
      [
        'a malformed template',
        withSpec({ allow: { db_users: ['alice', '{{internal.db_users'] } }),
        'invalid role "dev": spec.allow.db_users[1]: "{{internal.db_users": template brackets do not parse',
      ],
      [
        'a template in a label value',
        withSpec({ allow: { db_labels: { env: '{{extrnal.env}}' } } }),
        'invalid role "dev": spec.allow.db_labels.env: "{{extrnal.env}}": "extrnal.env" is not a trait',
      ],
      [
        'a malformed impersonate template',
        withSpec({ allow: { impersonate: { roles: ['{{external}}'] } } }),
        'invalid role "dev": spec.allow.impersonate.roles[0]: "{{external}}"',
      ],
    ])('%s', (_case, input, message) => {
      // when
      const parse = () => parseRole(input);
      // then
      expect(parse).toThrow(BadParameterError);
      expect(parse).toThrow(message);
      expect(() => parseRole(input)).not.toThrow(/\n/);
    });
  });
});
