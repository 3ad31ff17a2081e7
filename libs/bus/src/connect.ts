import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ConnectionProblemError } from '#libs/common';

/** Connects to NATS, retrying the first connection for `waitMs`, then reconnecting forever. */
export async function connectNats(servers: string[], name: string, waitMs = 15_000): Promise<NatsConnection> {
  try {
    return await connect({
      servers,
      name,
      waitOnFirstConnect: true,
      timeout: waitMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // Stack traces for every request cost more CPU than the publish itself on the audit path.
      noAsyncTraces: true,
    });
  } catch (err) {
    throw new ConnectionProblemError(
      `cannot reach NATS at ${servers.join(', ')}: ${(err as Error).message}; check teleport.nats.servers or NATS_URL`,
      { cause: err },
    );
  }
}
