import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { KV } from '@nats-io/kv';
import { Logger } from '@nestjs/common';
import { KvIndex } from '#libs/bus';
import { formatHostPort, parseHostPort } from '#libs/common';
import { DataPlane } from '#libs/events';
import type { AgentTls } from '#libs/join';
import { TunnelPool } from './tunnel-pool.js';

/** Idle tunnels kept open to each proxy address; more to a proxy of more processes (one each at least). */
export const TUNNELS_PER_PROXY = 8;

/**
 * Tunnels to every proxy: each address the proxy address it was given (`--proxy`) resolves to (replicas
 * behind one name, as compose and Kubernetes give them; a load balancer's one address), and each proxy
 * that advertises its own tunnel address in the PROXIES bucket, so any proxy can hand it a session.
 * Names are resolved again at every heartbeat, so proxies that come and go get and lose their tunnels.
 */
export class ProxyTunnels {
  private readonly pools = new Map<string, TunnelPool>();
  /** The pools' size, and whether their tunnels name a slot: set by the most processes a proxy has. */
  private shape = { size: TUNNELS_PER_PROXY, slotted: false };
  /**
   * The most processes a proxy said it runs since this service started. It only grows: a proxy that
   * restarts (its entry gone for a while) must not cost its processes their tunnels when it is back.
   */
  private mostWorkers = 1;
  /** What the last update was made for: the proxies' addresses and the most processes. */
  private seen = '';
  private updating = Promise.resolve();
  private proxies?: KvIndex<DataPlane.ProxyServer>;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly proxyAddr: string,
    private readonly tls: () => AgentTls,
    private readonly onSession: (socket: TLSSocket) => void,
  ) {}

  async start(bucket: KV): Promise<void> {
    // A proxy that comes, or says it runs more processes, gets its tunnels at once, not at the next heartbeat.
    this.proxies = await KvIndex.follow(bucket, DataPlane.ProxyServerSchema, 'proxies', () => this.changed());
    await this.queueUpdate();
    this.timer = setInterval(() => void this.queueUpdate(), DataPlane.HEARTBEAT_MS);
    this.timer.unref();
  }

  /** One update at a time: one that resolved names later than a newer one would undo it. */
  private queueUpdate(): Promise<void> {
    this.updating = this.updating
      .then(() => this.update())
      .catch((err: Error) => new Logger('db').error(`updating the tunnels to proxies failed: ${err.message}`));
    return this.updating;
  }

  private async update(): Promise<void> {
    const { named, workers } = this.wanted();
    this.seen = JSON.stringify([named, workers]);
    const addrs = new Set(await tunnelAddresses(named, resolveAll));
    if (this.stopped) return;
    // Behind one address (--proxy) may be any of the proxies: each address gets enough for the largest.
    const shape = { size: Math.max(TUNNELS_PER_PROXY, workers), slotted: workers > 1 };
    if (shape.size !== this.shape.size || shape.slotted !== this.shape.slotted) {
      this.shape = shape;
      for (const pool of this.pools.values()) pool.stop();
      this.pools.clear();
    }
    for (const addr of addrs) {
      if (this.pools.has(addr)) continue;
      const pool = new TunnelPool(addr, shape.size, this.tls, this.onSession, shape.slotted);
      this.pools.set(addr, pool);
      pool.start();
    }
    for (const [addr, pool] of this.pools) {
      if (addrs.has(addr)) continue;
      pool.stop();
      this.pools.delete(addr);
    }
  }

  /** The proxy addresses to keep tunnels to (by name), and how many processes the largest proxy runs. */
  private wanted(): { named: string[]; workers: number } {
    const proxies = this.proxies?.values() ?? [];
    this.mostWorkers = Math.max(this.mostWorkers, ...proxies.map((p) => p.workers ?? 1));
    return { named: [this.proxyAddr, ...proxies.flatMap((p) => (p.addr ? [p.addr] : []))], workers: this.mostWorkers };
  }

  /** A PROXIES entry changed: update now if that changes what is wanted (not for each heartbeat). */
  private changed(): void {
    if (!this.proxies || this.stopped) return;
    const { named, workers } = this.wanted();
    if (JSON.stringify([named, workers]) !== this.seen) void this.queueUpdate();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.proxies?.stop();
    for (const pool of this.pools.values()) pool.stop();
    this.pools.clear();
  }
}

/**
 * Where to keep tunnels: each `host:port` as one `address:port` per address its host resolves to; as
 * it is when it is an address already, or does not resolve (it is dialed by name, and tried again).
 */
export async function tunnelAddresses(named: string[], resolve: (host: string) => Promise<string[]>): Promise<string[]> {
  const each = await Promise.all(
    named.map(async (addr) => {
      const { host, port } = parseHostPort(addr, 3080);
      if (isIP(host)) return [addr];
      const addresses = await resolve(host).catch(() => []);
      return addresses.length ? addresses.map((address) => formatHostPort({ host: address, port })) : [addr];
    }),
  );
  return [...new Set(each.flat())];
}

/**
 * The addresses of `host` in one family, IPv4 when it has any: a name such as localhost that also
 * resolves to ::1 for a proxy listening on IPv4 alone would keep a pool failing for nothing.
 */
async function resolveAll(host: string): Promise<string[]> {
  const all = await lookup(host, { all: true });
  const v4 = all.filter((a) => a.family === 4);
  return (v4.length ? v4 : all).map((a) => a.address);
}
