import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { RpcClient } from '#libs/bus';
import { Logger } from '@nestjs/common';
import { context, trace, type Context, type Span } from '@opentelemetry/api';
import { AccessDeniedError, BadParameterError, DomainError, NotFoundError, relay } from '#libs/common';
import { DataPlane, Rpc } from '#libs/events';
import { THROUGH_FAILOVER_TIMEOUT_MS } from '#libs/eventstore';
import { backend, type ErrorFields, FrontendType, MessageCounter, parseStartupFrame, readStartupFrame } from '#libs/pg-wire';
import { Attr, dataPathCounts, endSpan, inSpan, instruments, secondsSince, SpanKind, traceCarrier, tracer } from '#libs/telemetry';
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

/** The statements a client sends: simple queries and extended-protocol executions. */
const STATEMENTS = new Set<number>([FrontendType.Query, FrontendType.Execute]);

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
 * authorize the session, then stream it to the Database Service the broker chose. Its setup is one
 * trace from the connection's `acceptedAt` (performance.now(); the TLS handshake's start when known),
 * which the Database Service continues.
 */
export async function handlePgClient(socket: TLSSocket, deps: PgIngressDeps, acceptedAt?: number): Promise<void> {
  const started = acceptedAt ?? performance.now();
  const span = tracer().startSpan(
    'postgres session',
    {
      kind: SpanKind.SERVER,
      startTime: started,
      attributes: { 'db.system.name': 'postgresql', 'client.address': socket.remoteAddress ?? '' },
    },
    context.active(),
  );
  const ctx = trace.setSpan(context.active(), span);
  if (acceptedAt !== undefined) tracer().startSpan('tls handshake', { startTime: acceptedAt }, ctx).end();
  try {
    const refusal = await setUpSession(socket, deps, started, span, ctx);
    endSpan(span, refusal);
  } catch (err) {
    endSpan(span, err);
    throw err;
  }
}

/** Denied for want of access: counted, and the client told why. */
function deny(socket: TLSSocket, stage: 'certificate' | 'authorize', fields: Omit<ErrorFields, 'severity'>): Error {
  instruments().accessDenials.add(1, { [Attr.Stage]: stage });
  fatal(socket, fields);
  return new AccessDeniedError(fields.message);
}

/** Sets the session up and hands it over; what it returns is why it was refused, if it was. */
async function setUpSession(socket: TLSSocket, deps: PgIngressDeps, started: number, span: Span, ctx: Context): Promise<Error | undefined> {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  const peer = socket.getPeerCertificate();
  if (!peer?.raw) {
    return deny(socket, 'certificate', {
      code: '28000',
      message: "a client certificate is required: run 'tsh db login <database>' and connect with the settings it saves",
    });
  }
  // Checked here rather than by socket.authorized: sockets upgraded after SSLRequest do not get it.
  const pem = certificatePem(peer.raw);
  if (Date.parse(peer.valid_to) <= Date.now()) {
    return deny(socket, 'certificate', {
      code: '28000',
      message: "your certificate has expired: run 'tsh login' and 'tsh db login <database>' again",
    });
  }
  let identity;
  try {
    identity = verifyUserCert(pem, deps.credentials().cas.user ?? []);
  } catch (err) {
    return deny(socket, 'certificate', { code: '28000', message: (err as Error).message });
  }
  const route = identity.dbRoute;
  if (!route?.serviceName) {
    return deny(socket, 'certificate', {
      code: '28000',
      message: "the certificate names no database: run 'tsh db login <database>' first",
    });
  }
  span.setAttribute(Attr.Database, route.serviceName);

  let startup;
  try {
    startup = parseStartupFrame(await readStartupFrame(socket));
  } catch (err) {
    fatal(socket, { code: '08P01', message: (err as Error).message });
    return err as Error;
  }
  if (startup.kind === 'CancelRequest') {
    forwardCancel(deps.rpc, startup.processId, startup.secretKey);
    span.updateName('postgres cancel request');
    return void socket.end();
  }
  if (startup.kind !== 'StartupMessage') {
    fatal(socket, { code: '08P01', message: `unexpected ${startup.kind} inside TLS` });
    return new Error(`unexpected ${startup.kind} inside TLS`);
  }
  deps.established(socket);
  const { user: startupUser, database: startupDb, ...parameters } = startup.parameters;
  const dbUser = startupUser || route.username;
  // A request that names no user is incomplete, not refused: no denial is counted.
  if (!dbUser) {
    const message = `no database user: connect with user=<name> or run 'tsh db login --db-user=<name> ${route.serviceName}'`;
    fatal(socket, { code: '28000', message });
    return new BadParameterError(message);
  }
  const dbName = startupDb || route.database || dbUser;
  const clientAddr = `${socket.remoteAddress}:${socket.remotePort}`;

  let grant: DataPlane.AuthorizeReply;
  try {
    // The broker waits out a NATS failover (its reads and the registry's write): so does the client.
    // Sent again if the bus connection drops meanwhile: a second assignment unused expires.
    grant = await deps.rpc
      .in(ctx)
      .call<DataPlane.AuthorizeReply>(
        Rpc.Broker.Authorize,
        { user_cert: pem, db_user: dbUser, db_name: dbName, client_addr: clientAddr },
        THROUGH_FAILOVER_TIMEOUT_MS,
        { idempotent: true },
      );
  } catch (err) {
    const message = err instanceof DomainError ? err.message : 'the session could not be authorized';
    const fields = { code: errorCode(err), message: err instanceof NotFoundError ? `database "${route.serviceName}" not found` : message };
    if (err instanceof AccessDeniedError) return deny(socket, 'authorize', fields);
    fatal(socket, fields);
    return err as Error;
  }
  span.setAttribute('session.id', grant.sid);

  let upstream: TLSSocket;
  let served: string;
  try {
    ({ socket: upstream, hostId: served } = await inSpan('pick database service', ctx, () =>
      deps.tunnels.take(grant.servers, TUNNEL_WAIT_MS),
    ));
  } catch (err) {
    fatal(socket, { code: '08006', message: (err as Error).message });
    return err as Error;
  }
  const logger = new Logger('proxy');
  logger.debug({
    sid: grant.sid,
    message: `${clientAddr} to ${route.serviceName} as ${dbUser}, database ${dbName}, by Database Service ${served}`,
  });
  const header: DataPlane.SessionHeader = {
    sid: grant.sid,
    user_cert: pem,
    db_user: dbUser,
    db_name: dbName,
    parameters,
    client_addr: clientAddr,
    trace: traceCarrier(ctx),
  };
  upstream.write(DataPlane.encodeSessionHeader(header));
  const counts = countSession(socket, route.serviceName);
  relay(socket, upstream, (chunk) => counts.fromClient(chunk), { end: true });
  relay(upstream, socket, (chunk) => counts.toClient(chunk), { end: true });
  instruments().setupDuration.record(secondsSince(started), { [Attr.Database]: route.serviceName });
  const close = () => {
    if (socket.destroyed && upstream.destroyed) return;
    socket.destroy();
    upstream.destroy();
    logger.debug({ sid: grant.sid, message: 'closed' });
  };
  socket.once('close', close);
  upstream.once('close', close);
  upstream.on('error', (err: Error) => {
    logger.warn({ sid: grant.sid, message: `tunnel failed: ${err.message}` });
    close();
  });
}

/** The session in the proxy's metrics: started, open, its statements and bytes (as the relay sees them), ended. */
function countSession(client: TLSSocket, database: string): { fromClient(chunk: Buffer): true; toClient(chunk: Buffer): true } {
  const m = instruments();
  const attributes = { [Attr.Database]: database };
  m.sessionsStarted.add(1, attributes);
  m.sessionsActive.add(1, attributes);
  const counts = dataPathCounts(database);
  const statements = new MessageCounter(STATEMENTS);
  client.once('close', () => {
    m.sessionsActive.add(-1, attributes);
    m.sessionsEnded.add(1, { ...attributes, [Attr.Outcome]: 'closed' });
  });
  return {
    fromClient(chunk) {
      counts.bytesFromClient += chunk.length;
      counts.statements += statements.push(chunk);
      return true;
    },
    toClient(chunk) {
      counts.bytesToClient += chunk.length;
      return true;
    },
  };
}
