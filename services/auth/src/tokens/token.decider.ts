import { AlreadyExistsError, NotFoundError } from '#libs/common';
import type { TokenEvents } from '#libs/events';
import type { Decider } from '#libs/eventstore';

export interface TokenState {
  exists: boolean;
  roles: string[];
  sealedToken: string;
  expires: string;
}

export type TokenCommand = { type: 'create'; roles: string[]; sealedToken: string; expires: string } | { type: 'delete' };

export const tokenDecider: Decider<TokenCommand, TokenState, TokenEvents> = {
  initialState: () => ({ exists: false, roles: [], sealedToken: '', expires: '' }),

  evolve(state, event) {
    switch (event.type) {
      case 'token.created':
        return { exists: true, roles: event.data.roles, sealedToken: event.data.sealed_token, expires: event.data.expires };
      case 'token.deleted':
        return tokenDecider.initialState();
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'create':
        if (state.exists) throw new AlreadyExistsError('a token with this value already exists');
        return [{ type: 'token.created', data: { roles: command.roles, sealed_token: command.sealedToken, expires: command.expires } }];
      case 'delete':
        if (!state.exists) throw new NotFoundError('token not found');
        return [{ type: 'token.deleted', data: {} }];
    }
  },
};
