import type { NatsConnection } from '@nats-io/transport-node';
import { ValueType } from '@opentelemetry/api';
import { addReadinessCheck, Attr, CHECK_MS, instruments, Metric } from '#libs/telemetry';
import type { RpcClient } from './rpc-client.js';

interface Tracked {
  name: string;
  /** Since when the connection has been down; undefined while it is connected. */
  downSince?: number;
}

/** This process's bus connections and whether each is connected: what /readyz reports. */
const connections = new Map<NatsConnection, Tracked>();

/** Follows a bus connection's status until it is closed. */
export function trackBusHealth(nc: NatsConnection, name: string): void {
  const entry: Tracked = { name };
  connections.set(nc, entry);
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') entry.downSince ??= Date.now();
      else if (status.type === 'reconnect') {
        entry.downSince = undefined;
        instruments().natsReconnects.add(1, { [Attr.Connection]: name });
      }
    }
  })();
  void nc.closed().then(() => connections.delete(nc));
}

/** What keeps this process's bus connections from serving: one line per connection that is down. */
export function busProblems(now = Date.now()): string[] {
  return [...connections.values()]
    .filter((c) => c.downSince !== undefined)
    .map((c) => `${c.name}: not connected to NATS for ${Math.round((now - c.downSince!) / 1000)}s; reconnecting`);
}

/** Each bus connection of this process, and whether it is connected now (dbaccess.nats.connected). */
export function busConnections(): { name: string; connected: boolean }[] {
  return [...connections.values()].map((c) => ({ name: c.name, connected: c.downSince === undefined }));
}

/** Exports dbaccess.nats.connected: 1 per connected bus connection, 0 while one reconnects. */
export function observeBusHealth(): void {
  instruments()
    .meter.createObservableGauge(Metric.NatsConnected, {
      unit: '{connection}',
      valueType: ValueType.INT,
      description: 'Whether each bus connection of the process is connected (1) or reconnecting (0)',
    })
    .addCallback((result) => {
      for (const c of busConnections()) result.observe(c.connected ? 1 : 0, { [Attr.Connection]: c.name });
    });
}

/**
 * /readyz asks, through `rpc`, whether the services this one calls answer (`pings`, their ping
 * subjects): a proxy no broker answers cannot serve a session, whatever its own state.
 */
export function watchPeers(rpc: RpcClient, pings: string[]): () => void {
  return addReadinessCheck(async () => {
    const answers = await Promise.allSettled(pings.map((ping) => rpc.call(ping, {}, CHECK_MS)));
    return answers.flatMap((a) => (a.status === 'rejected' ? [(a.reason as Error).message] : []));
  });
}
