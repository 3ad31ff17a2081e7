import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { RpcClient } from '#libs/bus';
import { Logger } from '@nestjs/common';
import { AccessDeniedError, DomainError, NotFoundError } from '#libs/common';
import { DataPlane, Rpc } from '#libs/events';
import { backend, type ErrorFields, parseStartupFrame, readStartupFrame } from '#libs/pg-wire';
import { certificatePem, verifyUserCert } from '#libs/pki';
import type { TunnelRegistry } from '../agents/tunnels.js';
import type { HostCredentials } from '../tls/host-credentials.js';

export interface PgIngressDeps {
  rpc: RpcClient;
  credentials: () => HostCredentials;
  tunnels: TunnelRegistry;
  /** The client sent its StartupMessage: its handshake deadline ends (see PendingConnections). */
  established: (socket: Socket) => void;
}

/** How long a session waits for a tunnel when none is idle (the Database Service is dialing one). */
const TUNNEL_WAIT_MS = 5_000;

function fatal(socket: TLSSocket, fields: Omit<ErrorFields, 'severity'>): void {
  socket.end(backend.errorResponse({ severity: 'FATAL', ...fields }));
}

function errorCode(err: unknown): string {
  if (err instanceof AccessDeniedError) return '28000';
  if (err instanceof NotFoundError) return '3D000';
  return '08006';
}

/** Hands a CancelRequest to the broker, which sends it to the Database Service holding the key. */
export function forwardCancel(rpc: RpcClient, processId: number, secretKey: number): void {
  rpc
    .call(Rpc.Broker.Cancel, { process_id: processId, secret_key: secretKey })
    .catch((err: Error) => new Logger('proxy').warn(`cancel request not delivered: ${err.message}`));
}

/**
 * A Postgres client on TLS: identify it by its certificate, read its StartupMessage, have the broker
 * authorize the session, then stream it to the Database Service the broker chose.
 */
export async function handlePgClient(socket: TLSSocket, deps: PgIngressDeps): Promise<void> {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  const peer = socket.getPeerCertificate();
  if (!peer?.raw) {
    return fatal(socket, {
      code: '28000',
      message: "a client certificate is required: run 'tsh db login <database>' and connect with the settings it saves",
    });
  }
  // Checked here rather than by socket.authorized: sockets upgraded after SSLRequest do not get it.
  const pem = certificatePem(peer.raw);
  if (Date.parse(peer.valid_to) <= Date.now()) {
    return fatal(socket, { code: '28000', message: "your certificate has expired: run 'tsh login' and 'tsh db login <database>' again" });
  }
  let identity;
  try {
    identity = verifyUserCert(pem, deps.credentials().cas.user ?? []);
  } catch (err) {
    return fatal(socket, { code: '28000', message: (err as Error).message });
  }
  const route = identity.dbRoute;
  if (!route?.serviceName) {
    return fatal(socket, { code: '28000', message: "the certificate names no database: run 'tsh db login <database>' first" });
  }

  let startup;
  try {
    startup = parseStartupFrame(await readStartupFrame(socket));
  } catch (err) {
    return fatal(socket, { code: '08P01', message: (err as Error).message });
  }
  if (startup.kind === 'CancelRequest') {
    forwardCancel(deps.rpc, startup.processId, startup.secretKey);
    return void socket.end();
  }
  if (startup.kind !== 'StartupMessage') {
    return fatal(socket, { code: '08P01', message: `unexpected ${startup.kind} inside TLS` });
  }
  deps.established(socket);
  const { user: startupUser, database: startupDb, ...parameters } = startup.parameters;
  const dbUser = startupUser || route.username;
  if (!dbUser)
    return fatal(socket, {
      code: '28000',
      message: `no database user: connect with user=<name> or run 'tsh db login --db-user=<name> ${route.serviceName}'`,
    });
  const dbName = startupDb || route.database || dbUser;
  const clientAddr = `${socket.remoteAddress}:${socket.remotePort}`;

  let grant: DataPlane.AuthorizeReply;
  try {
    grant = await deps.rpc.call<DataPlane.AuthorizeReply>(Rpc.Broker.Authorize, {
      user_cert: pem,
      db_user: dbUser,
      db_name: dbName,
      client_addr: clientAddr,
    });
  } catch (err) {
    const message = err instanceof DomainError ? err.message : 'the session could not be authorized';
    return fatal(socket, {
      code: errorCode(err),
      message: err instanceof NotFoundError ? `database "${route.serviceName}" not found` : message,
    });
  }

  let upstream: TLSSocket;
  let served: string;
  try {
    ({ socket: upstream, hostId: served } = await deps.tunnels.take(grant.servers, TUNNEL_WAIT_MS));
  } catch (err) {
    return fatal(socket, { code: '08006', message: (err as Error).message });
  }
  const logger = new Logger('proxy');
  logger.debug(
    `session ${grant.sid}: ${clientAddr} to ${route.serviceName} as ${dbUser}, database ${dbName}, by Database Service ${served}`,
  );
  const header: DataPlane.SessionHeader = {
    sid: grant.sid,
    user_cert: pem,
    db_user: dbUser,
    db_name: dbName,
    parameters,
    client_addr: clientAddr,
  };
  upstream.write(DataPlane.encodeSessionHeader(header));
  socket.pipe(upstream);
  upstream.pipe(socket);
  socket.resume();
  const close = () => {
    if (socket.destroyed && upstream.destroyed) return;
    socket.destroy();
    upstream.destroy();
    logger.debug(`session ${grant.sid}: closed`);
  };
  socket.once('close', close);
  upstream.once('close', close);
  upstream.on('error', (err: Error) => {
    logger.warn(`session ${grant.sid}: tunnel failed: ${err.message}`);
    close();
  });
}
