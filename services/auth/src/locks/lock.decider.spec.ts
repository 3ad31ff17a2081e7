import { AlreadyExistsError, NotFoundError } from '#libs/common';
import type { LockEvents } from '#libs/events';
import { fold } from '#libs/eventstore';
import { parseLock } from '#libs/rbac';
import { lockDecider, type LockCommand } from './lock.decider.js';

const given = (...events: LockEvents[]) => fold(lockDecider, events);
const when = (state: ReturnType<typeof given>, command: LockCommand) => lockDecider.decide(command, state);

const lock = parseLock({
  kind: 'lock',
  version: 'v2',
  metadata: { name: 'l1' },
  spec: { target: { user: 'alice' }, message: 'Suspicious' },
});
const upserted: LockEvents = { type: 'lock.upserted', data: { lock } };
const deleted: LockEvents = { type: 'lock.deleted', data: {} };

describe('lock decider', () => {
  it('creates a lock', () => {
    expect(when(given(), { type: 'upsert', lock, mustNotExist: true })).toEqual([upserted]);
  });

  it('refuses to create a lock of a name that exists, unless told to overwrite it', () => {
    expect(() => when(given(upserted), { type: 'upsert', lock, mustNotExist: true })).toThrow(
      new AlreadyExistsError(`lock "l1" already exists; use 'tctl create -f' to overwrite it`),
    );
    const changed = { ...lock, spec: { ...lock.spec, message: 'Go home.' } };
    expect(when(given(upserted), { type: 'upsert', lock: changed, mustNotExist: false })).toEqual([
      { type: 'lock.upserted', data: { lock: changed } },
    ]);
  });

  it('deletes a lock once, and names a missing one', () => {
    expect(when(given(upserted), { type: 'delete', name: 'l1' })).toEqual([deleted]);
    expect(() => when(given(upserted, deleted), { type: 'delete', name: 'l1' })).toThrow(
      new NotFoundError(`lock "l1" not found; 'tctl get locks' lists them`),
    );
    expect(() => when(given(), { type: 'delete', name: 'l1' })).toThrow(NotFoundError);
  });

  it('allows the name again after the lock was deleted', () => {
    expect(when(given(upserted, deleted), { type: 'upsert', lock, mustNotExist: true })).toEqual([upserted]);
  });
});
