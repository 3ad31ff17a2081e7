import { AlreadyExistsError, BadParameterError, LimitExceededError, NotFoundError } from '#libs/common';
import type { UserEvents } from '#libs/events';
import { fold } from '#libs/eventstore';
import { LOCK_DURATION_MS, MAX_LOGIN_ATTEMPTS, lockedUntil, userDecider, type UserCommand } from './user.decider.js';

const given = (...events: UserEvents[]) => fold(userDecider, events);
const when = (state: ReturnType<typeof given>, command: UserCommand) => userDecider.decide(command, state);

const created: UserEvents = {
  type: 'user.created',
  data: { name: 'alice', roles: ['access'], traits: { db_users: ['*'] }, created_by: 'admin' },
};
const invite: UserEvents = { type: 'user.token.issued', data: { kind: 'invite', token_hash: 'h1', expires: '2030-01-01T00:00:00.000Z' } };
const create: UserCommand = {
  type: 'create',
  name: 'alice',
  roles: ['access'],
  traits: {},
  by: 'admin',
  tokenHash: 'h1',
  tokenExpires: '2030-01-01T00:00:00.000Z',
};

describe('user decider', () => {
  it('creates a user with an invite link', () => {
    expect(when(given(), create).map((e) => e.type)).toEqual(['user.created', 'user.token.issued']);
  });

  it('refuses a second user of the same name', () => {
    expect(() => when(given(created), create)).toThrow(new AlreadyExistsError('user "alice" already exists'));
  });

  it('allows the name again after the user was deleted', () => {
    expect(when(given(created, { type: 'user.deleted', data: {} }), create)).toHaveLength(2);
  });

  it('names the missing user when there is none', () => {
    expect(() => when(given(), { type: 'delete', name: 'zoe' })).toThrow(new NotFoundError('user "zoe" not found'));
    expect(() =>
      when(given(created, { type: 'user.deleted', data: {} }), { type: 'reset', name: 'alice', tokenHash: 'h', tokenExpires: 'x' }),
    ).toThrow(new NotFoundError('user "alice" not found'));
  });

  it('refuses names that cannot be a user', () => {
    expect(() => when(given(), { ...create, name: 'a b' })).toThrow(BadParameterError);
  });

  it('sets a password only with the outstanding, unexpired link, once', () => {
    const state = given(created, invite);
    const ok = when(state, { type: 'set-password', tokenHash: 'h1', passwordHash: 'x', now: '2029-01-01T00:00:00.000Z' });
    expect(ok).toEqual([{ type: 'user.password.set', data: { password_hash: 'x', token_hash: 'h1' } }]);
    const spent = fold(userDecider, [created, invite, ...ok]);
    expect(() => when(spent, { type: 'set-password', tokenHash: 'h1', passwordHash: 'y', now: '2029-01-01T00:00:00.000Z' })).toThrow(
      NotFoundError,
    );
    expect(() => when(state, { type: 'set-password', tokenHash: 'h1', passwordHash: 'y', now: '2031-01-01T00:00:00.000Z' })).toThrow(
      /expired/,
    );
    expect(() => when(state, { type: 'set-password', tokenHash: 'other', passwordHash: 'y', now: '2029-01-01T00:00:00.000Z' })).toThrow(
      NotFoundError,
    );
  });

  it('locks the account after repeated failures, for a while', () => {
    const t0 = Date.parse('2029-01-01T00:00:00.000Z');
    const failures: UserEvents[] = Array.from({ length: MAX_LOGIN_ATTEMPTS }, (_, i) => ({
      type: 'user.login.failed',
      data: { at: new Date(t0 + i * 1000).toISOString() },
    }));
    const state = given(created, ...failures);
    const justAfter = new Date(t0 + MAX_LOGIN_ATTEMPTS * 1000);
    expect(lockedUntil(state, justAfter)).toBeDefined();
    expect(() => when(state, { type: 'record-login', name: 'alice', ok: true, now: justAfter.toISOString() })).toThrow(LimitExceededError);
    const later = new Date(t0 + (MAX_LOGIN_ATTEMPTS - 1) * 1000 + LOCK_DURATION_MS + 1);
    expect(lockedUntil(state, later)).toBeUndefined();
    expect(when(state, { type: 'record-login', name: 'alice', ok: true, now: later.toISOString() })).toEqual([
      { type: 'user.login.succeeded', data: {} },
    ]);
  });

  it('a new password unlocks the account', () => {
    const failures: UserEvents[] = Array.from({ length: MAX_LOGIN_ATTEMPTS }, () => ({
      type: 'user.login.failed',
      data: { at: new Date().toISOString() },
    }));
    const state = given(created, ...failures, { type: 'user.password.set', data: { password_hash: 'x', token_hash: 'h' } });
    expect(lockedUntil(state, new Date())).toBeUndefined();
  });

  it('records nothing for a clean successful login', () => {
    expect(when(given(created), { type: 'record-login', name: 'alice', ok: true, now: new Date().toISOString() })).toEqual([]);
  });
});
