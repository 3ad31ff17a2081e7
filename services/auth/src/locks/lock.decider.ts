import { AlreadyExistsError, NotFoundError } from '#libs/common';
import type { LockEvents } from '#libs/events';
import type { Decider } from '#libs/eventstore';
import type { Lock } from '#libs/rbac';

export interface LockState {
  lock?: Lock;
}

export type LockCommand =
  /** `mustNotExist`: `tctl lock` (a fresh name) and `tctl create` without -f. */
  { type: 'upsert'; lock: Lock; mustNotExist: boolean } | { type: 'delete'; name: string };

export const lockDecider: Decider<LockCommand, LockState, LockEvents> = {
  initialState: () => ({}),

  evolve: (_state, event) => (event.type === 'lock.upserted' ? { lock: event.data.lock as Lock } : {}),

  decide(command, state) {
    switch (command.type) {
      case 'upsert':
        if (state.lock && command.mustNotExist) {
          throw new AlreadyExistsError(`lock "${command.lock.metadata.name}" already exists; use 'tctl create -f' to overwrite it`);
        }
        return [{ type: 'lock.upserted', data: { lock: command.lock } }];
      case 'delete':
        if (!state.lock) throw new NotFoundError(`lock "${command.name}" not found; 'tctl get locks' lists them`);
        return [{ type: 'lock.deleted', data: {} }];
    }
  },
};
