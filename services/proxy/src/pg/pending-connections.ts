import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { formatDuration } from '#libs/common';

/** `proxy_service.connection_limits`: how long, and how many, connections may stay short of saying what they want. */
export interface ConnectionLimits {
  /** From accept to the StartupMessage (Postgres) or the first request's headers (HTTPS), TLS included. */
  handshakeTimeoutMs: number;
  maxPendingPerSource: number;
  maxPending: number;
}

/** Refusals are logged at debug one by one, and as a warning at most this often. */
const WARN_EVERY_MS = 10_000;

interface Pending {
  source: string;
  timer: NodeJS.Timeout;
}

/**
 * Connections at the public port that are not established yet: each has a deadline, and each source
 * and the whole port a ceiling, so that idle or slow clients cannot hold the descriptors that users
 * need. A connection is known by its TCP four-tuple, which every socket layered over it (TLS) shares:
 * whoever sees it established (the Postgres session, the HTTP server) need not know how it arrived.
 */
export class PendingConnections {
  private readonly pending = new Map<string, Pending>();
  private readonly perSource = new Map<string, number>();
  private refusedSinceWarning = 0;
  private lastWarning = -Infinity;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly logger = new Logger('proxy'),
  ) {}

  /** Takes a newly accepted socket under watch; over a limit it is destroyed at once and false returned. */
  admit(socket: Socket): boolean {
    // Reset before we saw it: nothing to watch, and no four-tuple to know it by.
    if (socket.remoteAddress === undefined) {
      socket.destroy();
      return false;
    }
    const source = sourceOf(socket.remoteAddress);
    const fromSource = this.perSource.get(source) ?? 0;
    const over =
      fromSource >= this.limits.maxPendingPerSource
        ? `${fromSource} pending from ${source} (max_pending_per_source)`
        : this.pending.size >= this.limits.maxPending
          ? `${this.pending.size} pending in all (max_pending)`
          : undefined;
    if (over) {
      socket.destroy();
      this.refused(source, over);
      return false;
    }
    const key = connectionKey(socket);
    const timer = setTimeout(() => {
      this.logger.debug(
        `closed a connection from ${source} that did not finish its handshake within ${formatDuration(this.limits.handshakeTimeoutMs)}`,
      );
      socket.destroy();
    }, this.limits.handshakeTimeoutMs);
    this.pending.set(key, { source, timer });
    this.perSource.set(source, fromSource + 1);
    socket.once('close', () => this.release(key));
    return true;
  }

  /** The connection under `socket` (the accepted one or TLS over it) said what it wants: no deadline, no longer counted. */
  established(socket: Socket): void {
    this.release(connectionKey(socket));
  }

  private release(key: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(key);
    const left = (this.perSource.get(entry.source) ?? 1) - 1;
    if (left > 0) this.perSource.set(entry.source, left);
    else this.perSource.delete(entry.source);
  }

  private refused(source: string, reason: string): void {
    this.logger.debug(`refused a connection from ${source}: ${reason}`);
    this.refusedSinceWarning++;
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.logger.warn(
      `refused ${this.refusedSinceWarning} new connection(s) since the last warning, the latest from ${source}: ${reason}; ` +
        'see proxy_service.connection_limits in teleport.yaml',
    );
    this.refusedSinceWarning = 0;
    this.lastWarning = now;
  }
}

/** Local and remote address and port: unique among the open TCP connections of a host. */
function connectionKey(socket: Socket): string {
  return `${socket.localAddress}|${socket.localPort}|${socket.remoteAddress}|${socket.remotePort}`;
}

/**
 * Who a limit per source counts against: an IPv4 address (IPv4-mapped IPv6 included), or the /64
 * of an IPv6 address, since one IPv6 host usually holds a whole /64.
 */
export function sourceOf(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
