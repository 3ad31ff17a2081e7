import { Aggregate, parseClusterSubject, type ClusterEvent, type EventEnvelope } from '#libs/events';
import type { Decider } from '#libs/eventstore';
import { caDecider, type CaState } from './cas/ca.decider.js';
import { lockDecider, type LockState } from './locks/lock.decider.js';
import { roleDecider, type RoleState } from './roles/role.decider.js';
import { tokenDecider, type TokenState } from './tokens/token.decider.js';
import { userDecider, type UserState } from './users/user.decider.js';

/** The auth service's read model of the CLUSTER stream, rebuilt by replay at start and followed after. */
export class AuthView {
  readonly users = new Map<string, UserState>();
  readonly roles = new Map<string, RoleState>();
  /** By token hash. */
  readonly tokens = new Map<string, TokenState>();
  /** By CA type. */
  readonly cas = new Map<string, CaState>();
  readonly locks = new Map<string, LockState>();

  apply(subject: string, commit: EventEnvelope[]): void {
    const parsed = parseClusterSubject(subject);
    if (!parsed) return;
    const events = commit as unknown as ClusterEvent[];
    switch (parsed.aggregate) {
      case Aggregate.User:
        return evolveInto(this.users, parsed.id, userDecider, events);
      case Aggregate.Role:
        return evolveInto(this.roles, parsed.id, roleDecider, events);
      case Aggregate.Token:
        return evolveInto(this.tokens, parsed.id, tokenDecider, events);
      case Aggregate.CertAuthority:
        return evolveInto(this.cas, parsed.id, caDecider, events);
      case Aggregate.Lock:
        return evolveInto(this.locks, parsed.id, lockDecider, events);
    }
  }

  /** The user whose outstanding signup or reset link has this hash. */
  userByTokenHash(hash: string): UserState | undefined {
    for (const user of this.users.values()) if (user.exists && user.token?.hash === hash) return user;
    return undefined;
  }
}

function evolveInto<State, Event>(
  map: Map<string, State>,
  id: string,
  decider: Pick<Decider<never, State, Event>, 'initialState' | 'evolve'>,
  events: unknown[],
): void {
  map.set(id, (events as Event[]).reduce(decider.evolve, map.get(id) ?? decider.initialState()));
}
