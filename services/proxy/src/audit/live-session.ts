import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { Logger } from '@nestjs/common';
import { AuditEvent, Streams } from '#libs/events';
import { StreamFollower } from '#libs/eventstore';

type Event = Record<string, unknown>;

/** An event missing from the sequence is waited for this long, then passed over. */
const GAP_WAIT_MS = 2_000;
/** Messages read ahead of a slow reader, at most. */
const QUEUE_MAX = 256;

/** The message's event; a message that is not a JSON object is logged by subject, not content, and passed over. */
function auditEventOf(m: JsMsg): Event | undefined {
  let value: unknown;
  try {
    value = JSON.parse(m.string());
  } catch {
    value = undefined;
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Event;
  new Logger('proxy').warn(`following a session: skipped message ${m.seq} on ${m.subject}, which is not an audit event`);
  return undefined;
}

/** The event after which a session has nothing more to say. */
export function endsSession(event: Event): boolean {
  return event.event === AuditEvent.SessionEnd || (event.event === AuditEvent.SessionStart && event.success === false);
}

/**
 * A session's events as the AUDIT stream receives them, in `ei` order (the Database Service publishes
 * several at once, so the stream may hold them slightly out of order), until the session ends or
 * `signal` aborts. Starts at `since` when the session's start is known, else at the stream's beginning.
 * Followed as projections are (StreamFollower): the feed goes on when the NATS node holding its
 * consumer dies, and a reader slower than the session holds the consumer back rather than queue.
 */
export async function* liveSession(js: JetStreamClient, sid: string, since: Date | undefined, signal: AbortSignal): AsyncGenerator<Event> {
  const queue: JsMsg[] = [];
  /** The generator waits for a message. */
  let wake: (() => void) | undefined;
  /** The follower waits for room in the queue. */
  let resume: (() => void) | undefined;
  const follower = await StreamFollower.start(js, {
    stream: Streams.Audit.name,
    filter: `audit.${sid}.>`,
    ...(since ? { since } : {}),
    onMessage: (m) => {
      queue.push(m);
      wake?.();
      if (queue.length >= QUEUE_MAX) return new Promise<void>((resolve) => (resume = resolve));
    },
  });
  /** The next message, or undefined after `ms` without one or on abort. */
  const nextMessage = (ms: number): Promise<JsMsg | undefined> => {
    if (queue.length) return Promise.resolve(queue.shift());
    return new Promise((resolve) => {
      const timer = setTimeout(() => wake!(), ms);
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve(queue.shift());
      };
    });
  };
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort);
  const waiting = new Map<number, Event>();
  let next = 0;
  let gapSince: number | undefined;
  try {
    while (!signal.aborted) {
      const m = await nextMessage(GAP_WAIT_MS);
      if (queue.length < QUEUE_MAX && resume) {
        resume();
        resume = undefined;
      }
      const event = m && auditEventOf(m);
      if (event && typeof event.ei === 'number' && event.ei >= next) waiting.set(event.ei, event);
      // A gap that does not fill in time is passed over, so one lost event cannot stall the feed.
      if (waiting.size && !waiting.has(next)) {
        gapSince ??= Date.now();
        if (Date.now() - gapSince >= GAP_WAIT_MS) next = Math.min(...waiting.keys());
      }
      while (waiting.has(next)) {
        gapSince = undefined;
        const event = waiting.get(next)!;
        waiting.delete(next++);
        yield event;
        if (endsSession(event)) return;
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    follower.stop();
    resume?.();
  }
}
