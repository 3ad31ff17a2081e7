import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { KvIndex } from '#libs/bus';
import { TraitsSchema } from '#libs/events';

/**
 * One session in the broker's registry (bucket SESSIONS, key = session id): assigned when the proxy
 * is told where to send it, live once the Database Service confirmed it, removed when it ends.
 */
export const SessionEntrySchema = z.object({
  sid: z.string(),
  state: z.enum(['assigned', 'live']),
  /** Assigned: the Database Services that may take it; live: the one serving it. */
  hosts: z.array(z.string()),
  /** SHA-256 of the user certificate the session was authorized for. */
  cert: z.string(),
  user: z.string(),
  roles: z.array(z.string()),
  traits: TraitsSchema,
  db_service: z.string(),
  db_user: z.string(),
  db_name: z.string(),
  db_roles: z.array(z.string()).optional(),
  /** The database's labels when the session started: role changes are checked against them. */
  db_labels: z.record(z.string(), z.string()).optional(),
  client_addr: z.string(),
  cancel_pid: z.number().optional(),
  /** Assigned entries expire if no Database Service confirms them; live ones when the certificate does. */
  expires: z.string(),
});
export type SessionEntry = z.infer<typeof SessionEntrySchema>;

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
    await this.kv.put(entry.sid, JSON.stringify(entry));
  }

  /** The entry as stored now (not the followed copy, which may lag behind another broker's write). */
  async get(sid: string): Promise<SessionEntry | undefined> {
    const stored = await this.kv.get(sid);
    if (!stored || stored.operation !== 'PUT') return undefined;
    const parsed = SessionEntrySchema.safeParse(stored.json());
    return parsed.success && parsed.data.expires > new Date().toISOString() ? parsed.data : undefined;
  }

  async remove(sid: string): Promise<void> {
    await this.kv.delete(sid);
  }

  /** Live sessions, as followed. */
  live(): SessionEntry[] {
    return this.index.values().filter((e) => e.state === 'live');
  }

  stop(): void {
    this.index.stop();
  }
}
