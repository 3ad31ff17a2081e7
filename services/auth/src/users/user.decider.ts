import { AlreadyExistsError, BadParameterError, LimitExceededError, NotFoundError } from '#libs/common';
import type { Traits, UserEvents } from '#libs/events';
import type { Decider } from '#libs/eventstore';

/** Teleport's defaults: 5 failures within 30 minutes lock the account for 20 minutes. */
export const MAX_LOGIN_ATTEMPTS = 5;
export const ATTEMPT_WINDOW_MS = 30 * 60_000;
export const LOCK_DURATION_MS = 20 * 60_000;

const USER_NAME = /^[A-Za-z0-9._@+-]{1,128}$/;

export interface UserState {
  exists: boolean;
  name: string;
  roles: string[];
  traits: Traits;
  createdBy: string;
  passwordHash?: string;
  /** The outstanding signup or reset link. */
  token?: { kind: 'invite' | 'reset'; hash: string; expires: string };
  /** Failed logins since the last success or password change. */
  failures: string[];
}

export type UserCommand =
  | { type: 'create'; name: string; roles: string[]; traits: Traits; by: string; tokenHash: string; tokenExpires: string }
  | { type: 'update'; name: string; roles?: string[]; traits?: Traits }
  | { type: 'delete'; name: string }
  | { type: 'reset'; name: string; tokenHash: string; tokenExpires: string }
  | { type: 'set-password'; tokenHash: string; passwordHash: string; now: string }
  | { type: 'record-login'; name: string; ok: boolean; now: string };

export function lockedUntil(state: UserState, now: Date): Date | undefined {
  const recent = state.failures.filter((t) => now.getTime() - Date.parse(t) < ATTEMPT_WINDOW_MS);
  if (recent.length < MAX_LOGIN_ATTEMPTS) return undefined;
  const until = new Date(Date.parse(recent[recent.length - 1]!) + LOCK_DURATION_MS);
  return until > now ? until : undefined;
}

function requireExists(state: UserState, name: string): void {
  if (!state.exists) throw new NotFoundError(`user "${name}" not found`);
}

export const userDecider: Decider<UserCommand, UserState, UserEvents> = {
  initialState: () => ({ exists: false, name: '', roles: [], traits: {}, createdBy: '', failures: [] }),

  evolve(state, event) {
    switch (event.type) {
      case 'user.created':
        return {
          ...userDecider.initialState(),
          exists: true,
          name: event.data.name,
          roles: event.data.roles,
          traits: event.data.traits,
          createdBy: event.data.created_by,
        };
      case 'user.updated':
        return { ...state, roles: event.data.roles, traits: event.data.traits };
      case 'user.deleted':
        return userDecider.initialState();
      case 'user.token.issued':
        return { ...state, token: { kind: event.data.kind, hash: event.data.token_hash, expires: event.data.expires } };
      case 'user.password.set':
        return { ...state, passwordHash: event.data.password_hash, token: undefined, failures: [] };
      case 'user.login.failed':
        return { ...state, failures: [...state.failures, event.data.at].slice(-MAX_LOGIN_ATTEMPTS) };
      case 'user.login.succeeded':
        return { ...state, failures: [] };
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'create':
        if (!USER_NAME.test(command.name)) {
          throw new BadParameterError(`invalid user name "${command.name}": use 1-128 letters, digits and . _ @ + -`);
        }
        if (state.exists) throw new AlreadyExistsError(`user "${command.name}" already exists`);
        return [
          { type: 'user.created', data: { name: command.name, roles: command.roles, traits: command.traits, created_by: command.by } },
          { type: 'user.token.issued', data: { kind: 'invite', token_hash: command.tokenHash, expires: command.tokenExpires } },
        ];
      case 'update':
        requireExists(state, command.name);
        return [{ type: 'user.updated', data: { roles: command.roles ?? state.roles, traits: command.traits ?? state.traits } }];
      case 'delete':
        requireExists(state, command.name);
        return [{ type: 'user.deleted', data: {} }];
      case 'reset':
        requireExists(state, command.name);
        return [{ type: 'user.token.issued', data: { kind: 'reset', token_hash: command.tokenHash, expires: command.tokenExpires } }];
      case 'set-password':
        if (!state.exists || state.token?.hash !== command.tokenHash || state.token.expires <= command.now) {
          throw new NotFoundError(
            'this link has expired or was already used; ask an administrator for a new one (tctl users reset <user>)',
          );
        }
        return [{ type: 'user.password.set', data: { password_hash: command.passwordHash, token_hash: command.tokenHash } }];
      case 'record-login': {
        requireExists(state, command.name);
        const until = lockedUntil(state, new Date(command.now));
        if (until) throw accountLocked(state.name, until);
        return command.ok
          ? state.failures.length
            ? [{ type: 'user.login.succeeded', data: {} }]
            : []
          : [{ type: 'user.login.failed', data: { at: command.now } }];
      }
    }
  },
};

export function accountLocked(name: string, until: Date): LimitExceededError {
  return new LimitExceededError(
    `user "${name}" is locked after ${MAX_LOGIN_ATTEMPTS} failed login attempts; try again after ${until.toISOString()} ` +
      `or ask an administrator to run 'tctl users reset ${name}'`,
  );
}
