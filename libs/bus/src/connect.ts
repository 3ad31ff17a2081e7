import type { ConnectionOptions } from 'node:tls';
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import { Logger } from '@nestjs/common';
import { ConnectionProblemError } from '#libs/common';
import { trackBusHealth } from './bus-health.js';
import type { BusCredentials } from './credentials.js';
import { formatIdentity, inboxPrefix } from './identity.js';

/** How a process reaches the bus: the servers, and the credentials it presents. */
export interface BusAccess {
  servers: string[];
  credentials: BusCredentials;
  /**
   * TLS from the first byte (a Database Service reaches the bus through the proxy's public port, which
   * routes the ALPN protocol `dbaccess-nats` to NATS). Without it, plain NATS on a private network.
   */
  tls?: ConnectionOptions;
}

/** The ALPN protocol the proxy routes to the cluster's NATS. */
export const NATS_ALPN = 'dbaccess-nats';

/** Connects with the process's credentials, retrying the first connection for `waitMs` while NATS is unreachable, then reconnecting forever. */
export async function connectNats(access: BusAccess, name: string, waitMs = 30_000): Promise<NatsConnection> {
  const { credentials } = access;
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const nc = await connect({
        servers: access.servers,
        name,
        timeout: 5_000,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        authenticator: credentials.authenticator(),
        inboxPrefix: inboxPrefix(credentials.identity),
        // Stack traces for every request cost more CPU than the publish itself on the audit path.
        noAsyncTraces: true,
        ...(access.tls
          ? {
              tls: { ...access.tls, handshakeFirst: true, ALPNProtocols: [NATS_ALPN] } as never,
              // The servers' own cluster addresses are not reachable from behind the proxy.
              ignoreClusterUpdates: true,
            }
          : {}),
      });
      credentials.track(nc);
      trackBusHealth(nc, name);
      return nc;
    } catch (err) {
      const reason = (err as Error).message;
      // Refused credentials or a protocol error will not get better by waiting.
      const unreachable = err instanceof errors.ConnectionError || err instanceof errors.TimeoutError;
      if (!unreachable || Date.now() > deadline) {
        const hint = /authoriz|authenticat/i.test(reason)
          ? `the bus refused the credentials of ${formatIdentity(credentials.identity)}`
          : access.tls
            ? 'check that the proxy is reachable from this host'
            : 'check teleport.nats.servers or NATS_URL';
        throw new ConnectionProblemError(`cannot reach NATS at ${access.servers.join(', ')}: ${reason}; ${hint}`, { cause: err });
      }
      if (attempt === 0) new Logger('bus').log(`waiting for NATS at ${access.servers.join(', ')} (${reason})...`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
