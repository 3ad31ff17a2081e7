import { z } from 'zod';
import { NameSchema } from './common.js';

/** A session id as Teleport writes them: a UUID. */
export const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const SessionIdSchema = z.string().regex(SESSION_ID, 'must be a session UUID');

const TimeSchema = z.iso.datetime({ offset: true });

export const SessionsListRequest = z
  .object({
    /** Sessions that started at or after `from` and before `to`. */
    from: TimeSchema.optional(),
    to: TimeSchema.optional(),
    user: NameSchema.optional(),
    db: NameSchema.optional(),
    limit: z.number().int().min(1).max(1000).default(50),
    /** `next_cursor` of the previous page. */
    cursor: z.string().max(512).optional(),
  })
  .strict();
export type SessionsListRequest = z.input<typeof SessionsListRequest>;

/** `ok`: ended after starting; `active`: no end yet; `denied` / `failed`: refused at the start. */
export type SessionOutcome = 'ok' | 'active' | 'denied' | 'failed';

export interface SessionSummary {
  sid: string;
  cluster_name: string;
  user: string;
  db_service: string;
  db_user: string;
  db_name: string;
  db_type: string;
  start: string;
  end?: string;
  duration_ms?: number;
  /** Queries and executions of prepared statements. */
  statements: number;
  /** Results that were errors. */
  errors: number;
  outcome: SessionOutcome;
  /** Why a session was refused. */
  message?: string;
}

export interface SessionsPage {
  sessions: SessionSummary[];
  next_cursor?: string;
}

export const SessionGetRequest = z.object({ sid: SessionIdSchema }).strict();

export const SessionEventsRequest = z
  .object({
    sid: SessionIdSchema,
    /** Events with a larger `ei` than this. */
    after_ei: z.number().int().min(-1).default(-1),
    limit: z.number().int().min(1).max(10_000).default(2_000),
  })
  .strict();
export type SessionEventsRequest = z.input<typeof SessionEventsRequest>;

/** One page of a session's events in `ei` order; `more` when the page was cut by its size or count. */
export interface SessionEventsPage {
  events: Array<Record<string, unknown>>;
  more: boolean;
}

export const EventsSearchRequest = z
  .object({
    from: TimeSchema.optional(),
    to: TimeSchema.optional(),
    user: NameSchema.optional(),
    db: NameSchema.optional(),
    sid: z.string().max(64).optional(),
    event_types: z.array(z.string().max(128)).max(50).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
    cursor: z.string().max(512).optional(),
  })
  .strict();
export type EventsSearchRequest = z.input<typeof EventsSearchRequest>;

export interface EventsPage {
  events: Array<Record<string, unknown>>;
  next_cursor?: string;
}
