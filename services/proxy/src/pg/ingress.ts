import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext, type Server as TlsServer } from 'node:tls';
import { Logger } from '@nestjs/common';
import { backend, parseStartupFrame, readStartupFrame } from '#libs/pg-wire';
import { peek } from '../peek.js';
import { clientHelloInfo, peekFirstRecord, type ClientHelloInfo } from '../tls/client-hello.js';
import type { PendingConnections } from './pending-connections.js';
import { forwardCancel, handlePgClient, type PgIngressDeps } from './pg-session.js';

/** First byte of a TLS handshake record: the client speaks TLS at once (PostgreSQL 17's sslnegotiation=direct, or HTTPS). */
const TLS_HANDSHAKE = 0x16;

/**
 * The proxy's one public port. A Postgres client starts with SSLRequest (answered 'S', then TLS),
 * GSSENCRequest (answered 'N'), or a CancelRequest (broadcast, then closed); TLS from the first byte
 * goes to the TLS server for the name its ClientHello asks for (`tlsServerFor`), whose connections are
 * routed by ALPN: "postgresql" to Postgres, the agents' protocols to them, everything else to HTTPS.
 * Every connection is `pending` until the Postgres session or the HTTP server says it is established.
 * In the first of several proxy processes, `handOff` may give a connection to another once its first
 * byte (and ClientHello) is in; the others get theirs through `accept`, their server never listening.
 */
export function createIngress(
  tlsServerFor: (serverName: string | undefined, alpn: string[]) => TlsServer,
  secureContext: () => SecureContext,
  deps: PgIngressDeps,
  pending: PendingConnections,
  handOff?: (socket: Socket, hello: ClientHelloInfo | undefined) => boolean,
): { server: Server; accept(socket: Socket): void; destroyConnections(): void } {
  const logger = new Logger('proxy');
  const startPostgresTls = (socket: Socket, acceptedAt: number) => {
    const tls = new TLSSocket(socket, { isServer: true, secureContext: secureContext(), requestCert: true, rejectUnauthorized: false });
    tls.once(
      'secure',
      () => void handlePgClient(tls, deps, acceptedAt).catch((err: Error) => logger.warn(`postgres session: ${err.message}`)),
    );
    tls.on('error', () => tls.destroy());
  };
  const sniff = async (socket: Socket, acceptedAt: number): Promise<void> => {
    if (handOff) {
      const tls = (await peekByte(socket)) === TLS_HANDSHAKE;
      if (handOff(socket, tls ? clientHelloInfo(await peekFirstRecord(socket)) : undefined)) return;
    }
    for (;;) {
      const first = await peekByte(socket);
      if (first === TLS_HANDSHAKE) {
        const hello = clientHelloInfo(await peekFirstRecord(socket));
        return void tlsServerFor(hello.serverName, hello.alpn).emit('connection', socket);
      }
      const frame = parseStartupFrame(await readStartupFrame(socket));
      switch (frame.kind) {
        case 'SSLRequest':
          // Bytes sent before the TLS handshake would be plaintext passed off as encrypted (CVE-2021-23214).
          if (socket.readableLength > 0) return void socket.destroy();
          socket.write(backend.sslAnswer(true));
          return startPostgresTls(socket, acceptedAt);
        case 'GSSENCRequest':
          socket.write(backend.sslAnswer(false));
          continue;
        case 'CancelRequest':
          forwardCancel(deps.rpc, frame.processId, frame.secretKey);
          return void socket.end();
        case 'StartupMessage':
          return void socket.end(
            backend.errorResponse({
              severity: 'FATAL',
              code: '28000',
              message:
                "this proxy accepts TLS only: connect with sslmode=verify-full and the certificate from 'tsh db login', or through 'tsh proxy db'",
            }),
          );
      }
    }
  };
  const open = new Set<Socket>();
  const accept = (socket: Socket) => {
    const acceptedAt = performance.now();
    if (!pending.admit(socket)) return;
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    sniff(socket, acceptedAt).catch(() => socket.destroy());
  };
  const server = createNetServer({ pauseOnConnect: true }, accept);
  return {
    server,
    accept,
    /** Ends every connection, sessions included: server.close() alone waits for them. */
    destroyConnections: () => {
      for (const socket of open) socket.destroy();
    },
  };
}

async function peekByte(socket: Socket): Promise<number> {
  return (await peek(socket, () => 1))[0]!;
}
