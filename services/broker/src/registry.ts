import type { KV } from '@nats-io/kv';
import { KvIndex, sessionEntry } from '#libs/bus';
import { DataPlane } from '#libs/events';
import { retryThroughFailover } from '#libs/eventstore';

export const SessionEntrySchema = DataPlane.SessionEntrySchema;
export type SessionEntry = DataPlane.SessionEntry;

/** How long an assigned session waits for its Database Service. */
export const ASSIGNMENT_TTL_MS = 60_000;

export class SessionRegistry {
  private constructor(
    private readonly kv: KV,
    private readonly index: KvIndex<SessionEntry>,
  ) {}

  static async open(kv: KV): Promise<SessionRegistry> {
    return new SessionRegistry(kv, await KvIndex.follow(kv, SessionEntrySchema, 'session registry'));
  }

  async put(entry: SessionEntry): Promise<void> {
    await retryThroughFailover(() => this.kv.put(entry.sid, JSON.stringify(entry)));
  }

  /** The entry as stored now (not the followed copy, which may lag behind another broker's write). */
  get(sid: string): Promise<SessionEntry | undefined> {
    return sessionEntry(this.kv, sid);
  }

  async remove(sid: string): Promise<void> {
    await retryThroughFailover(() => this.kv.delete(sid));
  }

  /** Live sessions, as followed. */
  live(): SessionEntry[] {
    return this.index.values().filter((e) => e.state === 'live');
  }

  stop(): void {
    this.index.stop();
  }
}
