import type { TLSSocket } from 'node:tls';
import type { KV } from '@nats-io/kv';
import { KvIndex } from '#libs/bus';
import { DataPlane } from '#libs/events';
import type { AgentTls } from '#libs/join';
import { TunnelPool } from './tunnel-pool.js';

/** Idle tunnels kept open to each proxy address. */
export const TUNNELS_PER_PROXY = 8;

/**
 * Tunnels to every proxy: the one this service was given (`--proxy`, perhaps a load balancer), and each
 * proxy that advertises its own tunnel address in the PROXIES bucket, so any proxy can hand it a session.
 */
export class ProxyTunnels {
  private readonly pools = new Map<string, TunnelPool>();
  private proxies?: KvIndex<DataPlane.ProxyServer>;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly proxyAddr: string,
    private readonly tls: () => AgentTls,
    private readonly onSession: (socket: TLSSocket) => void,
  ) {}

  async start(bucket: KV): Promise<void> {
    this.proxies = await KvIndex.follow(bucket, DataPlane.ProxyServerSchema, 'proxies');
    this.update();
    this.timer = setInterval(() => this.update(), DataPlane.HEARTBEAT_MS);
    this.timer.unref();
  }

  private update(): void {
    const addrs = new Set([this.proxyAddr, ...(this.proxies?.values() ?? []).flatMap((p) => (p.addr ? [p.addr] : []))]);
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
    clearInterval(this.timer);
    this.proxies?.stop();
    for (const pool of this.pools.values()) pool.stop();
    this.pools.clear();
  }
}
