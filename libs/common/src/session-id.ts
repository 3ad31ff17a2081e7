import { BadParameterError } from './errors.js';

/** A session id as Teleport writes them: a UUID. */
export const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Refuses what is not a session id, with Teleport's message. */
export function checkSessionId(sid: string): void {
  if (!SESSION_ID.test(sid)) throw new BadParameterError(`'${sid}' is not a valid session ID (must be GUID)`);
}
