import type { NatsConnection } from '@nats-io/transport-node';

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
      else if (status.type === 'reconnect') entry.downSince = undefined;
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
