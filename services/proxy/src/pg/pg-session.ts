import type { Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { AccessDeniedError, ConnectionProblemError, DomainError, NotFoundError } from '#libs/common';
import { CANCEL_SUBJECT, DataPlane, Rpc } from '#libs/events';
import { backend, type ErrorFields, parseStartupFrame, readStartupFrame } from '#libs/pg-wire';
import { certificatePem, inspectCert, issuerCaType, parseUserIdentity, verifyChain } from '#libs/pki';
import type { ControlPlane } from '../clients.js';
import type { HostCredentials } from '../tls/host-credentials.js';

export interface PgIngressDeps {
  control: ControlPlane;
  nc: NatsConnection;
  credentials: () => HostCredentials;
  /** The client sent its StartupMessage: its handshake deadline ends (see PendingConnections). */
  established: (socket: Socket) => void;
}

function fatal(socket: TLSSocket, fields: Omit<ErrorFields, 'severity'>): void {
  socket.end(backend.errorResponse({ severity: 'FATAL', ...fields }));
}

function errorCode(err: unknown): string {
  if (err instanceof AccessDeniedError) return '28000';
  if (err instanceof NotFoundError) return '3D000';
  return '08006';
}

/** Broadcasts a CancelRequest: the Database Service holding the key cancels the query. */
export function broadcastCancel(nc: NatsConnection, processId: number, secretKey: number): void {
  nc.publish(CANCEL_SUBJECT, JSON.stringify({ process_id: processId, secret_key: secretKey }));
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
  const cert = inspectCert(pem);
  if (cert.notAfter.getTime() <= Date.now()) {
    return fatal(socket, { code: '28000', message: "your certificate has expired: run 'tsh login' and 'tsh db login <database>' again" });
  }
  if (issuerCaType(pem) !== 'user' || !verifyChain(pem, deps.credentials().cas.user ?? [])) {
    return fatal(socket, { code: '28000', message: 'the client certificate is not a user certificate of this cluster' });
  }
  const identity = parseUserIdentity(pem);
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
    broadcastCancel(deps.nc, startup.processId, startup.secretKey);
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
    grant = await deps.control.broker.call<DataPlane.AuthorizeReply>(Rpc.Broker.Authorize, {
      user: identity.username,
      roles: identity.roles,
      traits: identity.traits,
      db_service: route.serviceName,
      db_user: dbUser,
      db_name: dbName,
      ...(route.roles?.length ? { db_roles: route.roles } : {}),
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
  try {
    upstream = await dialDatabaseService(grant.server, deps.credentials());
  } catch (err) {
    return fatal(socket, { code: '08006', message: (err as Error).message });
  }
  const header: DataPlane.SessionHeader = {
    sid: grant.sid,
    cluster_name: grant.cluster_name,
    user: identity.username,
    roles: identity.roles,
    matched_roles: grant.matched_roles,
    expires: identity.expires.toISOString(),
    db_service: route.serviceName,
    db_user: dbUser,
    db_name: dbName,
    parameters,
    client_addr: clientAddr,
    ...(grant.record_results ? { record_results: grant.record_results } : {}),
    ...(grant.auto_user ? { auto_user: grant.auto_user } : {}),
  };
  upstream.write(DataPlane.encodeSessionHeader(header));
  socket.pipe(upstream);
  upstream.pipe(socket);
  socket.resume();
  const close = () => {
    socket.destroy();
    upstream.destroy();
  };
  socket.once('close', close);
  upstream.once('close', close);
  upstream.on('error', (err: Error) => {
    new Logger('proxy').warn(`session ${grant.sid}: stream to ${grant.server.host_id} failed: ${err.message}`);
    close();
  });
}

/** Mutual TLS with host certificates; the service must present the certificate of the host the broker named. */
function dialDatabaseService(server: { host_id: string; addr: string }, creds: HostCredentials): Promise<TLSSocket> {
  const [host, port] = [
    server.addr.slice(0, server.addr.lastIndexOf(':')).replace(/^\[|\]$/g, ''),
    Number(server.addr.slice(server.addr.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host,
      port,
      key: creds.privateKeyPem,
      cert: creds.certPem,
      ca: creds.cas.host ?? [],
      checkServerIdentity: (_name, cert) =>
        cert.subject.CN === server.host_id ? undefined : new Error(`the Database Service at ${server.addr} is not ${server.host_id}`),
    });
    socket.setNoDelay(true);
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new ConnectionProblemError(
          `the Database Service serving this database (${server.host_id}) cannot be reached: ${err.code ?? err.message}`,
        ),
      ),
    );
  });
}
