import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { KV } from '@nats-io/kv';
import { KvIndex } from '#libs/bus';
import { formatHostPort, parseHostPort } from '#libs/common';
import { DataPlane } from '#libs/events';
import type { AgentTls } from '#libs/join';
import { TunnelPool } from './tunnel-pool.js';

/** Idle tunnels kept open to each proxy address. */
export const TUNNELS_PER_PROXY = 8;

/**
 * Tunnels to every proxy: each address the proxy address it was given (`--proxy`) resolves to (replicas
 * behind one name, as compose and Kubernetes give them; a load balancer's one address), and each proxy
 * that advertises its own tunnel address in the PROXIES bucket, so any proxy can hand it a session.
 * Names are resolved again at every heartbeat, so proxies that come and go get and lose their tunnels.
 */
export class ProxyTunnels {
  private readonly pools = new Map<string, TunnelPool>();
  private proxies?: KvIndex<DataPlane.ProxyServer>;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly proxyAddr: string,
    private readonly tls: () => AgentTls,
    private readonly onSession: (socket: TLSSocket) => void,
  ) {}

  async start(bucket: KV): Promise<void> {
    this.proxies = await KvIndex.follow(bucket, DataPlane.ProxyServerSchema, 'proxies');
    await this.update();
    this.timer = setInterval(() => void this.update(), DataPlane.HEARTBEAT_MS);
    this.timer.unref();
  }

  private async update(): Promise<void> {
    const named = [this.proxyAddr, ...(this.proxies?.values() ?? []).flatMap((p) => (p.addr ? [p.addr] : []))];
    const addrs = new Set(await tunnelAddresses(named, resolveAll));
    if (this.stopped) return;
    for (const addr of addrs) {
      if (this.pools.has(addr)) continue;
      const pool = new TunnelPool(addr, TUNNELS_PER_PROXY, this.tls, this.onSession);
      this.pools.set(addr, pool);
      pool.start();
    }
    for (const [addr, pool] of this.pools) {
      if (addrs.has(addr)) continue;
      pool.stop();
      this.pools.delete(addr);
    }
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
