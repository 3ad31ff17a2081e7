import { DeliverPolicy, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { Logger } from '@nestjs/common';
import { AuditEvent, Streams } from '#libs/events';

type Event = Record<string, unknown>;

/** An event missing from the sequence is waited for this long, then passed over. */
const GAP_WAIT_MS = 2_000;

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
 */
export async function* liveSession(js: JetStreamClient, sid: string, since: Date | undefined, signal: AbortSignal): AsyncGenerator<Event> {
  const consumer = await js.consumers.get(Streams.Audit.name, {
    filter_subjects: `audit.${sid}.>`,
    ...(since ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.toISOString() } : { deliver_policy: DeliverPolicy.All }),
  });
  const messages = await consumer.consume();
  const onAbort = () => messages.stop();
  signal.addEventListener('abort', onAbort);
  const iterator = messages[Symbol.asyncIterator]();
  const waiting = new Map<number, Event>();
  let next = 0;
  let gapSince: number | undefined;
  try {
    while (!signal.aborted) {
      let timer: NodeJS.Timeout | undefined;
      const gap = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), GAP_WAIT_MS)));
      const step = await Promise.race([iterator.next(), gap]).finally(() => clearTimeout(timer));
      if (step !== 'timeout') {
        if (step.done) return;
        const event = auditEventOf(step.value);
        if (event && typeof event.ei === 'number' && event.ei >= next) waiting.set(event.ei, event);
      }
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
    messages.stop();
  }
}
