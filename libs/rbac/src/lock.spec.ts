import { parse } from 'yaml';
import { BadParameterError } from '#libs/common';
import { formatLockTarget, lockInForce, lockInForceMessage, parseLock, type Lock } from './lock.js';
import { lockToYaml } from './lock-yaml.js';

const lock = (name: string, spec: Partial<Lock['spec']>): Lock =>
  parseLock({ kind: 'lock', version: 'v2', metadata: { name }, spec: { target: {}, ...spec } });

const NOW = new Date('2030-01-01T12:00:00.000Z');
const alice = { user: 'alice', roles: ['access'] };

describe('parseLock', () => {
  it('takes a lock as Teleport writes it, and keeps expires as UTC', () => {
    expect(
      parseLock({
        kind: 'lock',
        version: 'v2',
        metadata: { name: 'dc7cee9d-fe5e-4534-a90d-db770f0234a1' },
        spec: { target: { user: 'foo@example.com' }, message: 'Suspicious activity.', expires: '2021-08-14T22:27:00+02:00' },
      }),
    ).toEqual({
      kind: 'lock',
      version: 'v2',
      metadata: { name: 'dc7cee9d-fe5e-4534-a90d-db770f0234a1' },
      spec: { target: { user: 'foo@example.com' }, message: 'Suspicious activity.', expires: '2021-08-14T20:27:00.000Z' },
    });
  });

  it.each<[string, unknown, string]>([
    ['no target', { target: {} }, 'invalid lock: spec.target: at least one target field must be set (user or role)'],
    ['no spec', undefined, 'invalid lock: spec: required'],
    [
      'a target Teleport has and we do not',
      { target: { login: 'root' } },
      'invalid lock: spec.target.login: locks on a login are not supported here; lock a user or a role',
    ],
    ['an unknown target field', { target: { user: 'a', group: 'x' } }, 'invalid lock: spec.target.group: unknown field'],
    [
      'a time that is not RFC 3339',
      { target: { user: 'a' }, expires: 'tomorrow' },
      'invalid lock: spec.expires: expected an RFC 3339 time, like 2030-01-02T15:04:05Z',
    ],
    ['an empty user', { target: { user: '' } }, 'invalid lock: spec.target.user: must not be empty'],
  ])('refuses %s, naming the field', (_case, spec, message) => {
    expect(() => parseLock({ kind: 'lock', version: 'v2', metadata: { name: 'l1' }, spec })).toThrow(new BadParameterError(message));
  });

  it('refuses another kind, version or a name that is no name', () => {
    expect(() => parseLock({ kind: 'role', version: 'v2', metadata: { name: 'l' }, spec: { target: { user: 'a' } } })).toThrow(
      'invalid lock: kind: must be "lock", got "role"',
    );
    expect(() => parseLock({ kind: 'lock', version: 'v1', metadata: { name: 'l' }, spec: { target: { user: 'a' } } })).toThrow(
      'invalid lock: version: unsupported version "v1" (use v2)',
    );
    expect(() => parseLock({ kind: 'lock', version: 'v2', metadata: { name: 'a b' }, spec: { target: { user: 'a' } } })).toThrow(
      /metadata\.name: "a b" is not a valid lock name/,
    );
  });
});

describe('lockInForce', () => {
  it('finds a lock on the user, and none on another user', () => {
    const onAlice = lock('l1', { target: { user: 'alice' } });
    expect(lockInForce([onAlice], alice, NOW)).toBe(onAlice);
    expect(lockInForce([onAlice], { user: 'bob', roles: ['access'] }, NOW)).toBeUndefined();
  });

  it('finds a lock on any role the user holds', () => {
    const onAccess = lock('l1', { target: { role: 'access' } });
    expect(lockInForce([onAccess], { user: 'bob', roles: ['auditor', 'access'] }, NOW)).toBe(onAccess);
    expect(lockInForce([onAccess], { user: 'bob', roles: ['auditor'] }, NOW)).toBeUndefined();
  });

  it('applies a lock naming a user and a role to that user and to the role holders, as Teleport does', () => {
    const both = lock('l1', { target: { user: 'alice', role: 'contractor' } });
    expect(lockInForce([both], { user: 'alice', roles: [] }, NOW)).toBe(both);
    expect(lockInForce([both], { user: 'bob', roles: ['contractor'] }, NOW)).toBe(both);
    expect(lockInForce([both], { user: 'bob', roles: ['access'] }, NOW)).toBeUndefined();
  });

  it('ignores a lock whose expiry has passed, up to the millisecond', () => {
    const until = lock('l1', { target: { user: 'alice' }, expires: '2030-01-01T12:00:00.001Z' });
    expect(lockInForce([until], alice, NOW)).toBe(until);
    expect(lockInForce([until], alice, new Date('2030-01-01T12:00:00.001Z'))).toBeUndefined();
  });

  it('skips expired locks to find one in force', () => {
    const expired = lock('l1', { target: { user: 'alice' }, expires: '2029-01-01T00:00:00Z' });
    const forever = lock('l2', { target: { role: 'access' } });
    expect(lockInForce([expired, forever], alice, NOW)).toBe(forever);
    expect(lockInForce([], alice, NOW)).toBeUndefined();
  });
});

describe('lockInForceMessage', () => {
  it("says what is locked in Teleport's words, with the lock's message when it has one", () => {
    expect(lockInForceMessage(lock('l1', { target: { user: 'foo@example.com' }, message: 'Suspicious activity.' }))).toBe(
      'lock targeting User:"foo@example.com" is in force: Suspicious activity.',
    );
    expect(lockInForceMessage(lock('l1', { target: { role: 'contractor' } }))).toBe('lock targeting Role:"contractor" is in force');
    expect(formatLockTarget({ user: 'a', role: 'b' })).toBe('User:"a" Role:"b"');
  });
});

describe('lockToYaml', () => {
  it('prints kind, version, metadata and spec, and reads back to the same lock', () => {
    const l = lock('l1', { target: { user: 'alice' }, message: 'Go home.', expires: '2030-01-01T00:00:00Z', created_by: 'admin' });
    expect(lockToYaml(l)).toBe(`kind: lock
version: v2
metadata:
  name: l1
spec:
  target:
    user: alice
  message: Go home.
  expires: 2030-01-01T00:00:00.000Z
  created_by: admin
`);
    expect(parseLock(parse(lockToYaml(l)))).toEqual(l);
  });
});
