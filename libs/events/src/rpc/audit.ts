import { z } from 'zod';
import { SESSION_ID } from '#libs/common';
import { NameSchema } from './common.js';

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

export type { SessionOutcome, SessionSummary, SessionsPage } from './audit-sessions.js';

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
