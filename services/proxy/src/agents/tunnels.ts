import type { TLSSocket } from 'node:tls';
import { ConnectionProblemError } from '#libs/common';

/** The ALPN protocol of a Database Service's tunnel: a connection it dialed, idle until a session needs it. */
export const TUNNEL_ALPN = 'dbaccess-tunnel';

/** One Database Service keeps at most this many idle tunnels to one proxy; more are closed. */
export const MAX_IDLE_TUNNELS_PER_HOST = 64;

/**
 * The reverse tunnels Database Services dialed to this proxy, by host id. Each is a TLS connection
 * that waits, idle, until the proxy writes a session header to it; the Database Service then dials a
 * new one. So a Database Service needs no listening port, and nobody can dial into its network.
 */
export class TunnelRegistry {
  private readonly idle = new Map<string, TLSSocket[]>();
  private readonly waiters = new Map<string, Array<(socket: TLSSocket) => void>>();

  /** A tunnel from `hostId` arrived (its certificate was checked by the caller). */
  add(hostId: string, socket: TLSSocket): void {
    socket.setKeepAlive(true, 30_000);
    socket.setNoDelay(true);
    const waiting = this.waiters.get(hostId);
    const waiter = waiting?.shift();
    if (waiter) return waiter(socket);
    const list = this.idle.get(hostId) ?? [];
    if (list.length >= MAX_IDLE_TUNNELS_PER_HOST) return void socket.destroy();
    list.push(socket);
    this.idle.set(hostId, list);
    const forget = () => {
      const current = this.idle.get(hostId);
      const i = current?.indexOf(socket) ?? -1;
      if (i >= 0) current!.splice(i, 1);
      if (current && !current.length) this.idle.delete(hostId);
    };
    socket.once('close', forget);
  }

  /** Whether a Database Service has tunnels to this proxy. */
  has(hostId: string): boolean {
    return (this.idle.get(hostId)?.length ?? 0) > 0;
  }

  /**
   * An idle tunnel to one of `hostIds` (in order of preference): at once if one is there, else the
   * first to arrive within `timeoutMs` (a Database Service replaces each tunnel as soon as it is used).
   */
  take(hostIds: string[], timeoutMs: number): Promise<{ hostId: string; socket: TLSSocket }> {
    for (const hostId of hostIds) {
      const socket = this.takeIdle(hostId);
      if (socket) return Promise.resolve({ hostId, socket });
    }
    return new Promise((resolve, reject) => {
      const entries = hostIds.map((hostId) => {
        const waiter = (socket: TLSSocket) => {
          cleanup();
          resolve({ hostId, socket });
        };
        const list = this.waiters.get(hostId) ?? [];
        list.push(waiter);
        this.waiters.set(hostId, list);
        return { hostId, waiter };
      });
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new ConnectionProblemError(
            `the Database Service serving this database (${hostIds.join(', ')}) is not connected to this proxy: it may have stopped, or cannot reach this proxy's address`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        for (const { hostId, waiter } of entries) {
          const list = this.waiters.get(hostId);
          const i = list?.indexOf(waiter) ?? -1;
          if (i >= 0) list!.splice(i, 1);
          if (list && !list.length) this.waiters.delete(hostId);
        }
      };
    });
  }

  private takeIdle(hostId: string): TLSSocket | undefined {
    const list = this.idle.get(hostId);
    while (list?.length) {
      const socket = list.shift()!;
      if (!list.length) this.idle.delete(hostId);
      if (!socket.destroyed) return socket;
    }
    return undefined;
  }

  closeAll(): void {
    for (const list of this.idle.values()) for (const socket of list) socket.destroy();
    this.idle.clear();
  }
}
