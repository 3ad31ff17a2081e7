import { AlreadyExistsError, NotFoundError } from '#libs/common';
import type { DbEvents } from '#libs/events';
import type { Decider } from '#libs/eventstore';
import type { DbResource } from '#libs/config';

export interface DbState {
  resource?: DbResource;
  origin?: 'dynamic' | 'config';
}

export type DbCommand = { type: 'upsert'; resource: DbResource; mustNotExist: boolean } | { type: 'delete'; name: string };

export const dbDecider: Decider<DbCommand, DbState, DbEvents> = {
  initialState: () => ({}),
  evolve: (_state, event) =>
    event.type === 'db.upserted' ? { resource: event.data.resource as DbResource, origin: event.data.origin } : {},
  decide(command, state) {
    switch (command.type) {
      case 'upsert':
        if (state.resource && command.mustNotExist) {
          throw new AlreadyExistsError(`db "${command.resource.metadata.name}" already exists; use 'tctl create -f' to overwrite it`);
        }
        return [{ type: 'db.upserted', data: { resource: command.resource, origin: 'dynamic' } }];
      case 'delete':
        if (!state.resource) throw new NotFoundError(`db "${command.name}" not found`);
        return [{ type: 'db.deleted', data: {} }];
    }
  },
};
