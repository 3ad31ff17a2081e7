import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { tunnelSlot } from '#libs/pki';
import { TUNNEL_ALPN } from './agents/tunnels.js';
import type { ClientHelloInfo } from './tls/client-hello.js';
import { ACME_TLS_ALPN } from './tls/proxy-tls.js';

/** A connection the first process of the proxy hands to another: the bytes it read, then the socket. */
export interface ToProxyWorker {
  type: 'connection';
  /** What the first process read (the first byte, or the ClientHello), base64: the worker reads it first. */
  head: string;
}

/** The proxy's processes, for the first: how many, and worker `n` (2 and up) if it serves now. */
export interface ProxyWorkers {
  count: number;
  serving(n: number): ChildProcess | undefined;
}

/**
 * Which of `count` processes serves a new connection (1: this one, the first), from its ClientHello when
 * it speaks TLS. A Database Service's tunnel goes to the process its server name's slot names (slot
 * modulo count), so each process gets its share of every Database Service's tunnels; one naming no slot
 * (from a Database Service that does not know the proxy has several) stays here. An ACME CA's validation
 * stays here, where the challenge certificate is. Everything else goes round (`next`).
 */
export function routeConnection(hello: ClientHelloInfo | undefined, count: number, next: () => number): number {
  if (hello?.alpn.includes(ACME_TLS_ALPN)) return 1;
  if (hello?.alpn.includes(TUNNEL_ALPN)) {
    const slot = tunnelSlot(hello.serverName);
    return slot === undefined ? 1 : (slot % count) + 1;
  }
  return next();
}

/**
 * Hands `socket` to the first process's `workers` when routeConnection says so. Returns whether it did,
 * or `false` to have this process serve it. A tunnel meant for a worker that is not serving (it is
 * being started again) is closed: kept here, it would hold the slot that worker needs once it is back,
 * while its Database Service dials again within seconds.
 */
export function connectionRouter(workers: ProxyWorkers): (socket: Socket, hello: ClientHelloInfo | undefined) => boolean {
  let turn = 0;
  const next = () => (turn++ % workers.count) + 1;
  return (socket, hello) => {
    const n = routeConnection(hello, workers.count, next);
    if (n === 1) return false;
    const child = workers.serving(n);
    if (!child) {
      if (!hello?.alpn.includes(TUNNEL_ALPN)) return false;
      socket.destroy();
      return true;
    }
    sendConnection(child, socket);
    return true;
  };
}

/** The socket's handle and what was read of it, to a worker; this process closes its own. */
function sendConnection(child: ChildProcess, socket: Socket): void {
  const head = (socket.read() as Buffer | null) ?? Buffer.alloc(0);
  const internals = socket as unknown as { _handle?: { readStop?(): number }; server?: unknown };
  // Not a byte more may be read here: what arrived after the handle left would be lost. Node stops
  // reading a stream's handle only when its buffer is full, so stop it now.
  internals._handle?.readStop?.();
  // Sent as a socket of the listener, Node would have the listener's close() wait for the worker to
  // say its sockets closed, and wait forever once that worker is gone (the workers stop first). As a
  // socket of no listener it is counted off when destroyed below.
  internals.server = undefined;
  const message: ToProxyWorker = { type: 'connection', head: head.toString('base64') };
  child.send(message, socket, { keepOpen: false }, () => socket.destroy());
}

/** A connection from the first process, in a worker: its first bytes put back, for the ingress to serve. */
export function receivedConnection(message: ToProxyWorker, socket: Socket): Socket {
  const head = Buffer.from(message.head, 'base64');
  if (head.length) socket.unshift(head);
  return socket;
}
