import { errors } from '@nats-io/transport-node';
import { JetStreamApiError } from '@nats-io/jetstream';

/**
 * When a node of a NATS cluster goes away, requests that were on their way to it get no answer (they time
 * out), and a replicated stream it led takes no write until its copies elect a new leader: a few seconds
 * in which JetStream answers nothing (nats.js reports "no responders" as JetStreamNotEnabled). Reads,
 * and writes that are safe to repeat (a publish with a message id, which JetStream stores once; a KV put
 * of a whole value; a KV delete), wait it out rather than fail the request of a user who only wanted
 * to connect.
 *
 * For `js.publish`: its own retries, with nats.js's backoff (up to 5 s apart), about 20 s in all.
 */
export const PUBLISH_RETRIES = 9;

const RETRY_BUDGET_MS = 20_000;

/**
 * How long to wait for the answer to a request whose handler waits out a failover (retryThroughFailover,
 * perhaps twice, for two streams whose leader went away at once): more than its budget, or the caller
 * gives up on a connection the cluster was about to serve. A NATS leader election takes up to ~10 s.
 */
export const THROUGH_FAILOVER_TIMEOUT_MS = RETRY_BUDGET_MS + 10_000;
const RETRY_PAUSE_MS = 250;

/** What went wrong with a NATS request: nats.js wraps it in a RequestError. */
export const natsCause = (err: unknown): unknown => (err instanceof errors.RequestError && err.cause ? err.cause : err);

/** No responder (nats.js names it JetStreamNotEnabled for JetStream), a timeout, or JetStream's "temporarily unavailable". */
function isFailover(err: unknown): boolean {
  const cause = natsCause(err);
  return (
    (cause instanceof Error && cause.name === 'JetStreamNotEnabled') ||
    cause instanceof errors.NoRespondersError ||
    cause instanceof errors.TimeoutError ||
    (cause instanceof JetStreamApiError && cause.status === 503)
  );
}

/** Runs `op` (a read, or a write that is safe to repeat) until it succeeds, retrying through a failover. */
export function retryThroughFailover<T>(op: () => Promise<T>, budgetMs = RETRY_BUDGET_MS): Promise<T> {
  return retryWhile(op, isFailover, budgetMs);
}

/** Runs `op` again, `pauseMs` apart, while it fails with what `retryable` accepts and `budgetMs` lasts; then throws. */
export async function retryWhile<T>(
  op: () => Promise<T>,
  retryable: (err: unknown) => boolean,
  budgetMs: number,
  pauseMs = RETRY_PAUSE_MS,
): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (!retryable(err) || Date.now() + pauseMs > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}
