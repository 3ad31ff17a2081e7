import fc from 'fast-check';
import { parse } from 'yaml';
import {
  ACCESS_DENIED_MESSAGE,
  allowedDbNames,
  allowedDbRoles,
  allowedDbUsers,
  canSeeDb,
  decideDbAccess,
  type DbAccessRequest,
} from './access.js';
import { BUILTIN_ROLES } from './builtin.js';
import { parseRole, type Role, type RoleConditions } from './role.js';

const role = (name: string, allow: RoleConditions, deny: RoleConditions = {}, version = 'v7', options = {}): Role =>
  parseRole({ kind: 'role', version, metadata: { name }, spec: { options, allow, deny } });
const fromYaml = (text: string): Role => parseRole(parse(text));

const denied = { allowed: false, message: ACCESS_DENIED_MESSAGE };
const prod = { env: 'prod' };
const request = (dbUser: string, dbName: string, dbLabels: Record<string, string> = prod): DbAccessRequest => ({
  dbLabels,
  dbUser,
  dbName,
});

describe('decideDbAccess', () => {
  const everything = role('everything', { db_labels: { '*': '*' }, db_users: ['*'], db_names: ['*'] });

  it('allows when one role matches labels, db user and db name', () => {
    // given
    const roles = [role('prod-main', { db_labels: { env: 'prod' }, db_users: ['alice'], db_names: ['main'] })];
    // when / then
    expect(decideDbAccess(roles, {}, request('alice', 'main'))).toEqual({ allowed: true, matchedRoles: ['prod-main'] });
  });

  it.each<[string, DbAccessRequest]>([
    ['the labels do not match', request('alice', 'main', { env: 'dev' })],
    ['the database has no labels', request('alice', 'main', {})],
    ['the db user is not listed', request('bob', 'main')],
    ['the db name is not listed', request('alice', 'metrics')],
  ])('denies when %s', (_case, req) => {
    const roles = [role('prod-main', { db_labels: { env: 'prod' }, db_users: ['alice'], db_names: ['main'] })];
    expect(decideDbAccess(roles, {}, req)).toEqual(denied);
  });

  it('needs labels, user and name in the same role', () => {
    // given: one role gives the user, another the name, neither both
    const roles = [
      role('users', { db_labels: { env: 'prod' }, db_users: ['alice'], db_names: ['other'] }),
      role('names', { db_labels: { env: 'prod' }, db_users: ['other'], db_names: ['main'] }),
    ];
    // when / then
    expect(decideDbAccess(roles, {}, request('alice', 'main'))).toEqual(denied);
  });

  it('matches db users and names exactly or by *, never as globs', () => {
    const roles = [role('glob', { db_labels: { '*': '*' }, db_users: ['ali*'], db_names: ['*'] })];
    expect(decideDbAccess(roles, {}, request('alice', 'main'))).toEqual(denied);
    expect(decideDbAccess(roles, {}, request('ali*', 'main')).allowed).toBe(true);
  });

  it('names every role that allows', () => {
    const roles = [everything, role('none', {}), role('main', { db_labels: { env: 'prod' }, db_users: ['alice'], db_names: ['main'] })];
    expect(decideDbAccess(roles, {}, request('alice', 'main'))).toEqual({ allowed: true, matchedRoles: ['everything', 'main'] });
  });

  it('denies with no roles', () => {
    expect(decideDbAccess([], {}, request('alice', 'main'))).toEqual(denied);
  });

  describe('deny first, across all roles', () => {
    it.each<[string, RoleConditions, DbAccessRequest]>([
      ['a deny db user in another role', { db_users: ['postgres'] }, request('postgres', 'main')],
      ['a deny db name in another role', { db_names: ['postgres'] }, request('alice', 'postgres')],
      ['a deny db user *', { db_users: ['*'] }, request('alice', 'main')],
      ['a deny db name *', { db_names: ['*'] }, request('alice', 'main')],
      ['deny labels matching the database', { db_labels: { env: 'prod' } }, request('alice', 'main')],
      ["deny labels '*': '*'", { db_labels: { '*': '*' } }, request('alice', 'main', {})],
    ])('%s wins over an allow', (_case, deny, req) => {
      // given
      const roles = [everything, role('restrict', {}, deny)];
      // when / then
      expect(decideDbAccess(roles, {}, req)).toEqual(denied);
    });

    it('lets other users, names and databases through', () => {
      const roles = [everything, role('restrict', {}, { db_users: ['postgres'], db_names: ['template1'], db_labels: { env: 'prod' } })];
      expect(decideDbAccess(roles, {}, request('alice', 'main', { env: 'dev' })).allowed).toBe(true);
    });

    it('denies when a trait makes a deny label regular expression invalid', () => {
      // given: the regular expression only exists after expansion, so parseRole could not refuse it
      const roles = [everything, role('restrict', {}, { db_labels: { env: '^{{external.pattern}}$' } })];
      // when / then
      expect(decideDbAccess(roles, { pattern: ['(unclosed'] }, request('alice', 'main'))).toEqual(denied);
    });
  });

  describe('traits', () => {
    const access = BUILTIN_ROLES.find((r) => r.metadata.name === 'access')!;

    it('applies them before deciding (the built-in access role)', () => {
      const traits = { db_users: ['alice'], db_names: ['main', 'metrics'] };
      expect(decideDbAccess([access], traits, request('alice', 'metrics', {})).allowed).toBe(true);
      expect(decideDbAccess([access], traits, request('bob', 'metrics'))).toEqual(denied);
    });

    it("drops the variables a user has no value for and keeps the rest (a case of Teleport's RBAC tests)", () => {
      const templated = role('templated', {
        db_labels: { '*': '*' },
        db_users: ['{{internal.db_users}}'],
        db_names: ['{{internal.db_names}}', '{{internal.foo}}', 'postgres'],
      });
      const traits = { db_users: ['alice'], db_names: ['main'] };
      expect(decideDbAccess([templated], traits, request('alice', 'main')).allowed).toBe(true);
      expect(decideDbAccess([templated], traits, request('alice', 'postgres')).allowed).toBe(true);
      expect(decideDbAccess([templated], traits, request('alice', 'foo'))).toEqual(denied);
      expect(decideDbAccess([templated], { ...traits, foo: ['metrics'] }, request('alice', 'metrics')).allowed).toBe(true);
    });

    it('gives nothing through a missing trait', () => {
      expect(decideDbAccess([access], { db_users: ['alice'] }, request('alice', 'main'))).toEqual(denied);
    });

    it('denies through a trait in a deny list', () => {
      const roles = [everything, role('banned', {}, { db_users: ['{{external.banned}}'] })];
      expect(decideDbAccess(roles, { banned: ['mallory'] }, request('mallory', 'main'))).toEqual(denied);
      expect(decideDbAccess(roles, { banned: ['mallory'] }, request('alice', 'main')).allowed).toBe(true);
    });
  });

  describe('role versions', () => {
    it('lets a v3 role without db_labels reach every database', () => {
      const roles = [role('legacy', { db_users: ['alice'], db_names: ['main'] }, {}, 'v3')];
      expect(decideDbAccess(roles, {}, request('alice', 'main', { env: 'anything' })).allowed).toBe(true);
      expect(decideDbAccess(roles, {}, request('alice', 'main', {})).allowed).toBe(true);
    });

    it('lets a v7 role without db_labels reach no database', () => {
      const roles = [role('modern', { db_users: ['alice'], db_names: ['main'] }, {}, 'v7')];
      expect(decideDbAccess(roles, {}, request('alice', 'main', { env: 'anything' }))).toEqual(denied);
      expect(decideDbAccess(roles, {}, request('alice', 'main', {}))).toEqual(denied);
    });
  });

  describe('the getting-started guide roles', () => {
    const developer = fromYaml(`
kind: role
version: v3
metadata:
  name: developer
spec:
  allow:
    db_labels:
      environment: ["dev", "stage"]
    db_names: ["main", "metrics", "postgres"]
    db_users: ["alice", "bob"]
`);

    it.each<[string, string, string, boolean]>([
      ['dev', 'alice', 'main', true],
      ['stage', 'bob', 'postgres', true],
      ['dev', 'alice', 'billing', false],
      ['dev', 'carol', 'main', false],
      ['prod', 'alice', 'main', false],
    ])('developer: %s database as %s on %s allowed=%s', (environment, dbUser, dbName, allowed) => {
      expect(decideDbAccess([developer], {}, request(dbUser, dbName, { environment })).allowed).toBe(allowed);
    });

    it("developer with the guide's deny section as written: its deny labels deny the whole dev and prod databases", () => {
      // given: deny labels match on their own, so this role denies every db user and name there
      const asWritten = fromYaml(`
kind: role
version: v3
metadata:
  name: developer
spec:
  allow:
    db_labels:
      environment: ["dev", "prod"]
    db_names: ["*"]
    db_users: ["*"]
  deny:
    db_labels:
      environment: ["dev", "prod"]
    db_names: ["postgres"]
    db_users: ["postgres"]
`);
      // when / then
      expect(decideDbAccess([asWritten], {}, request('alice', 'main', { environment: 'prod' }))).toEqual(denied);
      expect(decideDbAccess([asWritten], {}, request('postgres', 'main', { environment: 'prod' }))).toEqual(denied);
    });

    it('developer with deny db_names/db_users only: any user and name except postgres', () => {
      // given
      const intended = fromYaml(`
kind: role
version: v3
metadata:
  name: developer
spec:
  allow:
    db_labels:
      environment: ["dev", "prod"]
    db_names: ["*"]
    db_users: ["*"]
  deny:
    db_names: ["postgres"]
    db_users: ["postgres"]
`);
      const prodDb = { environment: 'prod' };
      // when / then
      expect(decideDbAccess([intended], {}, request('alice', 'main', prodDb))).toEqual({ allowed: true, matchedRoles: ['developer'] });
      expect(decideDbAccess([intended], {}, request('alice', 'postgres', prodDb))).toEqual(denied);
      expect(decideDbAccess([intended], {}, request('postgres', 'main', prodDb))).toEqual(denied);
      expect(decideDbAccess([intended], {}, request('alice', 'main', { environment: 'stage' }))).toEqual(denied);
    });
  });

  describe('the automatic user provisioning guide roles', () => {
    const autoDbUsers = fromYaml(`
kind: role
version: v7
metadata:
  name: auto-db-users
spec:
  options:
    # create_db_user_mode enables automatic user provisioning for matching databases
    create_db_user_mode: keep
  allow:
    db_labels:
      "*": "*"
    db_names:
    - "*"
    # db_roles is a list of roles the database user will be assigned
    db_roles:
    - reader
    - "{{internal.db_roles}}"
    - "{{external.db_roles}}"
`);
    const readAllTables = fromYaml(`
kind: role
metadata:
  name: read_all_tables
spec:
  options:
    create_db_user_mode: keep
  allow:
    db_labels:
      '*': '*'
    db_names:
    - '*'
    db_permissions:
    - match:
        object_kind: table
        schema: public
      permissions:
      - SELECT
version: v7
`);
    const traits = { db_roles: ['writer'], db_users: [] };

    it('ignores db_users when the session provisions its user', () => {
      expect(decideDbAccess([autoDbUsers], traits, { ...request('alice', 'main'), autoCreateUser: true })).toEqual({
        allowed: true,
        matchedRoles: ['auto-db-users'],
      });
    });

    it('ignores deny db_users when the session provisions its user, but not deny db_names', () => {
      const restrict = role('restrict', {}, { db_users: ['*'], db_names: ['postgres'] });
      expect(decideDbAccess([autoDbUsers, restrict], traits, { ...request('alice', 'main'), autoCreateUser: true }).allowed).toBe(true);
      expect(decideDbAccess([autoDbUsers, restrict], traits, { ...request('alice', 'postgres'), autoCreateUser: true })).toEqual(denied);
    });

    it('denies without provisioning, as the role lists no db_users', () => {
      expect(decideDbAccess([autoDbUsers], traits, request('alice', 'main'))).toEqual(denied);
    });

    it('reads the db_permissions role', () => {
      expect(readAllTables.spec.allow.db_permissions).toEqual([
        { match: { object_kind: 'table', schema: 'public' }, permissions: ['SELECT'] },
      ]);
      expect(decideDbAccess([readAllTables], {}, { ...request('alice', 'main'), autoCreateUser: true }).allowed).toBe(true);
    });

    it('assigns reader and the db_roles traits', () => {
      expect(allowedDbRoles([autoDbUsers], { db_roles: ['writer'] }, prod)).toEqual(['reader', 'writer']);
      expect(allowedDbRoles([autoDbUsers], { db_roles: ['writer', 'reader'] }, prod)).toEqual(['reader', 'writer']);
    });
  });

  describe('properties', () => {
    const labels = fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 });
    // Braces left out: they would make a deny entry a template.
    const name = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/[{}]/.test(s));

    it("a role with '*': '*' labels and * users and names allows any request", () => {
      fc.assert(
        fc.property(labels, name, name, (dbLabels, dbUser, dbName) => {
          expect(decideDbAccess([everything], {}, { dbLabels, dbUser, dbName })).toEqual({ allowed: true, matchedRoles: ['everything'] });
        }),
      );
    });

    it('a deny of the requested db user or db name in any role denies, whatever the allows', () => {
      fc.assert(
        fc.property(labels, name, name, fc.boolean(), fc.nat(3), (dbLabels, dbUser, dbName, denyUser, position) => {
          // given
          const restrict = role('restrict', {}, denyUser ? { db_users: [dbUser] } : { db_names: [dbName] });
          const roles = [everything, everything, everything];
          roles.splice(position, 0, restrict);
          // when / then
          expect(decideDbAccess(roles, {}, { dbLabels, dbUser, dbName })).toEqual(denied);
        }),
      );
    });

    it('the decision does not depend on the order of the roles', () => {
      const pool = [
        everything,
        role('prod-alice', { db_labels: { env: 'prod' }, db_users: ['alice'], db_names: ['main'] }),
        role('no-postgres', {}, { db_users: ['postgres'] }),
        role('no-dev', {}, { db_labels: { env: 'dev' } }),
        role('eu', { db_labels: { region: 'eu-*' }, db_users: ['bob'], db_names: ['*'] }),
      ];
      const env = fc.constantFrom('prod', 'dev', 'stage');
      const region = fc.constantFrom('eu-west-1', 'us-east-1');
      const user = fc.constantFrom('alice', 'bob', 'postgres');
      fc.assert(
        fc.property(fc.shuffledSubarray(pool), env, region, user, (roles, e, r, dbUser) => {
          const req = { dbLabels: { env: e, region: r }, dbUser, dbName: 'main' };
          const forward = decideDbAccess(roles, {}, req);
          const backward = decideDbAccess([...roles].reverse(), {}, req);
          expect(backward.allowed).toBe(forward.allowed);
        }),
      );
    });
  });
});

describe('canSeeDb', () => {
  it.each<[string, Role[], Record<string, string>, boolean]>([
    ['allow labels match', [role('a', { db_labels: { env: 'prod' } })], prod, true],
    ['allow labels do not match', [role('a', { db_labels: { env: 'dev' } })], prod, false],
    ['a role with no db_labels', [role('a', { db_users: ['*'] })], prod, false],
    [
      'deny labels of another role match',
      [role('a', { db_labels: { '*': '*' } }), role('b', {}, { db_labels: { env: 'prod' } })],
      prod,
      false,
    ],
    ['deny users do not hide a database', [role('a', { db_labels: { '*': '*' } }, { db_users: ['*'] })], prod, true],
  ])('%s: %s', (_case, roles, labels, expected) => {
    expect(canSeeDb(roles, {}, labels)).toBe(expected);
  });

  it('applies traits to labels', () => {
    const roles = [role('team', { db_labels: { team: '{{external.team}}' } })];
    expect(canSeeDb(roles, { team: ['payments'] }, { team: 'payments' })).toBe(true);
    expect(canSeeDb(roles, {}, { team: 'payments' })).toBe(false);
  });
});

describe('allowedDbUsers / allowedDbNames', () => {
  const roles = [
    role('dev', { db_labels: { env: 'dev' }, db_users: ['alice', '{{internal.db_users}}'], db_names: ['main', 'metrics'] }),
    role('prod', { db_labels: { env: 'prod' }, db_users: ['readonly'], db_names: ['*'] }),
    role('restrict', {}, { db_users: ['postgres'], db_names: ['metrics'] }),
  ];
  const traits = { db_users: ['postgres', 'bob'] };

  it('lists what the roles whose labels match allow, less what any role denies, sorted', () => {
    expect(allowedDbUsers(roles, traits, { env: 'dev' })).toEqual(['alice', 'bob']);
    expect(allowedDbNames(roles, traits, { env: 'dev' })).toEqual(['main']);
  });

  it('keeps * as written', () => {
    expect(allowedDbNames(roles, traits, { env: 'prod' })).toEqual(['*']);
  });

  it('lists nothing on a database whose labels a deny matches', () => {
    const fenced = [...roles, role('no-dev', {}, { db_labels: { env: 'dev' } })];
    expect(allowedDbUsers(fenced, traits, { env: 'dev' })).toEqual([]);
  });

  it('lists nothing when a role denies *', () => {
    expect(allowedDbUsers([...roles, role('none', {}, { db_users: ['*'] })], traits, { env: 'dev' })).toEqual([]);
  });
});

describe('allowedDbRoles', () => {
  const provisioning = (name: string, allow: RoleConditions, deny: RoleConditions = {}) =>
    role(name, allow, deny, 'v7', { create_db_user_mode: 'best_effort_drop' });

  it('unites the db_roles of provisioning roles whose labels match, sorted and unique', () => {
    const roles = [
      provisioning('readers', { db_labels: { '*': '*' }, db_roles: ['reader', 'analyst'] }),
      provisioning('prod-writers', { db_labels: { env: 'prod' }, db_roles: ['writer', 'reader'] }),
      provisioning('dev-admins', { db_labels: { env: 'dev' }, db_roles: ['admin'] }),
    ];
    expect(allowedDbRoles(roles, {}, prod)).toEqual(['analyst', 'reader', 'writer']);
  });

  it('removes deny db_roles', () => {
    const roles = [
      provisioning('readers', { db_labels: { '*': '*' }, db_roles: ['reader', 'writer'] }),
      role('no-writer', {}, { db_roles: ['writer'] }),
    ];
    expect(allowedDbRoles(roles, {}, prod)).toEqual(['reader']);
  });

  it('ignores roles that do not turn provisioning on', () => {
    const roles = [
      provisioning('readers', { db_labels: { '*': '*' }, db_roles: ['reader'] }),
      role('plain', { db_labels: { '*': '*' }, db_roles: ['admin'] }),
      role('off', { db_labels: { '*': '*' }, db_roles: ['owner'] }, {}, 'v7', { create_db_user_mode: 'off' }),
    ];
    expect(allowedDbRoles(roles, {}, prod)).toEqual(['reader']);
  });

  it('gives nothing on a database whose labels a deny matches', () => {
    const roles = [provisioning('readers', { db_labels: { '*': '*' }, db_roles: ['reader'] }, { db_labels: { env: 'prod' } })];
    expect(allowedDbRoles(roles, {}, prod)).toEqual([]);
    expect(allowedDbRoles(roles, {}, { env: 'dev' })).toEqual(['reader']);
  });
});
