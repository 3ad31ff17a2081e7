import type { DataPlane } from '#libs/events';

/** Nest injection tokens of the auth module's plain-value providers. */
export const BUS_SIGNER = Symbol('BUS_SIGNER');
export const SESSIONS = Symbol('SESSIONS');

/** The broker's session registry, read: which Database Service serves a session, as which user. */
export interface SessionLookup {
  get(sid: string): Promise<DataPlane.SessionEntry | undefined>;
}
