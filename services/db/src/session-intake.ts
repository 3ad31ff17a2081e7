import type { TLSSocket } from 'node:tls';
import { Logger } from '@nestjs/common';
import { trace, type Context } from '@opentelemetry/api';
import type { RpcClient } from '#libs/bus';
import { AccessDeniedError, DomainError } from '#libs/common';
import { databaseType, type DatabaseConfig } from '#libs/config';
import { auditSubject, DataPlane, Rpc, sessionStartFailed } from '#libs/events';
import { THROUGH_FAILOVER_TIMEOUT_MS } from '#libs/eventstore';
import { backend } from '#libs/pg-wire';
import { verifyUserCert } from '#libs/pki';
import { Attr, contextFromCarrier, endSpan, instruments, SpanKind, tracer } from '#libs/telemetry';
import type { AuditSink } from './audit/session-audit.js';
import type { CancelKeys } from './postgres/cancel-keys.js';
import { PostgresSession, type SessionDeps } from './postgres/session.js';
import { dialUpstream, discardDialed } from './postgres/upstream.js';
import { readSessionHeader } from './session-header.js';

export interface IntakeDeps {
  hostId: string;
  rpc: RpcClient;
  /** The audit spool. */
  audit: AuditSink;
  /** The largest event body a NATS message can carry. */
  maxEventBytes: () => number;
  cancelKeys: CancelKeys;
  /** The cluster's user CA certificates, as joining gave them. */
  userCas(): string[];
  /** The database of that name this service serves now. */
  database(name: string): DatabaseConfig | undefined;
  /** The session's dependencies for one database; `ctx` is its trace. */
  sessionDeps(db: DatabaseConfig, sid: string, ctx: Context): Omit<SessionDeps, 'hostId' | 'audit' | 'maxEventBytes' | 'cancelKeys'>;
}

/**
 * Takes the sessions proxies hand to this Database Service over its tunnels. Nothing in the proxy's
 * header is believed: the user's certificate must be this cluster's, and the broker must confirm the
 * session (assigned to this service, for that certificate, user and database) and decide its access
 * again before a byte reaches the database.
 */
export class SessionIntake {
  private readonly logger = new Logger('db');
  private readonly live = new Map<string, PostgresSession>();

  constructor(private readonly deps: IntakeDeps) {}

  accept(socket: TLSSocket): void {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    const accepted = performance.now();
    void readSessionHeader(socket)
      .then((header) => this.traced(socket, header, accepted))
      .catch((err: Error) => {
        this.logger.warn(`session stream refused: ${err.message}`);
        socket.destroy();
      });
  }

  /** Ends a live session, telling its client why (the broker's revocations). */
  terminate(sid: string, message: string): void {
    this.live.get(sid)?.terminate(message);
  }

  /** Ends every live session to database `name` (no longer served here), telling their clients why. */
  terminateDatabase(name: string, message: string): void {
    for (const session of this.live.values()) if (session.database === name) session.terminate(message);
  }

  /**
   * Serves the session in a span that continues the proxy's trace of its setup, from the header to
   * the database's answer (or the refusal).
   */
  private async traced(socket: TLSSocket, header: DataPlane.SessionHeader, accepted: number): Promise<void> {
    const span = tracer().startSpan(
      'serve postgres session',
      { kind: SpanKind.SERVER, startTime: accepted, attributes: { 'session.id': header.sid, 'db.system.name': 'postgresql' } },
      contextFromCarrier(header.trace),
    );
    try {
      await this.serve(socket, header, accepted, trace.setSpan(contextFromCarrier(header.trace), span));
    } finally {
      endSpan(span);
    }
  }

  private async serve(socket: TLSSocket, header: DataPlane.SessionHeader, accepted: number, ctx: Context): Promise<void> {
    let identity;
    try {
      identity = verifyUserCert(header.user_cert, this.deps.userCas());
    } catch (err) {
      instruments().accessDenials.add(1, { [Attr.Stage]: 'certificate' });
      return this.refuse(socket, header, undefined, (err as Error).message);
    }
    const db = identity.dbRoute ? this.deps.database(identity.dbRoute.serviceName) : undefined;
    if (!db)
      return this.refuse(socket, header, identity.username, `this Database Service does not serve "${identity.dbRoute?.serviceName}"`);

    const cancelSecret = this.deps.cancelKeys.reserve();
    socket.once('close', () => this.deps.cancelKeys.release(cancelSecret));
    // While the broker confirms the session, the database starts the backend process for it: the
    // connection carries nothing of anyone until the session has its grant (TLS, then the StartupMessage).
    const dialed = dialUpstream(db);
    dialed.catch(() => undefined); // its error, if any, is the session's when it connects
    let grant: DataPlane.SessionGrant;
    try {
      // The broker waits out a NATS failover (its reads and the registry's write): so does the session.
      // Sent again if the bus connection drops meanwhile (a request in flight then is lost): the broker
      // answers a repeat as it answered the first.
      grant = await this.deps.rpc.in(ctx).call<DataPlane.SessionGrant>(
        Rpc.Broker.SessionsStart,
        {
          sid: header.sid,
          user_cert: header.user_cert,
          db_service: db.name,
          db_user: header.db_user,
          db_name: header.db_name,
          cancel_secret: cancelSecret,
        },
        THROUGH_FAILOVER_TIMEOUT_MS,
        { idempotent: true },
      );
    } catch (err) {
      // The broker recorded its refusal (TDB00W); the client is told why.
      const denied = err instanceof AccessDeniedError;
      const message = err instanceof DomainError ? err.message : 'the session could not be confirmed';
      discardDialed(dialed);
      if (denied) instruments().accessDenials.add(1, { [Attr.Stage]: 'confirm' });
      else this.logger.warn({ sid: header.sid, message });
      return void socket.end(backend.errorResponse({ severity: 'FATAL', code: denied ? '28000' : '08006', message }));
    }

    const session = new PostgresSession(
      socket,
      {
        sid: header.sid,
        cluster_name: grant.cluster_name,
        user: grant.user,
        matched_roles: grant.matched_roles,
        expires: grant.expires,
        db_service: db.name,
        db_user: header.db_user,
        db_name: header.db_name,
        db_origin: grant.db_origin,
        parameters: header.parameters,
        client_addr: header.client_addr,
        ...(grant.record_results ? { record_results: grant.record_results } : {}),
        ...(grant.auto_user ? { auto_user: grant.auto_user } : {}),
        cancel_secret: cancelSecret,
      },
      { ...db, db_type: databaseType(db) },
      {
        hostId: this.deps.hostId,
        audit: this.deps.audit,
        maxEventBytes: this.deps.maxEventBytes,
        cancelKeys: this.deps.cancelKeys,
        ...this.deps.sessionDeps(db, header.sid, ctx),
        accepted,
        dialed,
        trace: ctx,
      },
    );
    this.live.set(header.sid, session);
    this.logger.debug({
      sid: header.sid,
      message: `${grant.user} to ${db.name} as ${header.db_user}, database ${header.db_name}, roles ${grant.matched_roles.join(',')}`,
    });
    // The registry forgets the session once it is over, its provisioned user torn down included.
    void session.ended.then(() => {
      this.live.delete(header.sid);
      this.logger.debug({ sid: header.sid, message: 'ended' });
      this.deps.rpc
        .call(Rpc.Broker.SessionsEnd, { sid: header.sid }, undefined, { idempotent: true })
        .catch((err: Error) => this.logger.warn({ sid: header.sid, message: `reporting its end failed: ${err.message}` }));
    });
    await session.run();
  }

  /** Refused before the broker was asked: recorded here (TDB00W), and the client told why. */
  private refuse(socket: TLSSocket, header: DataPlane.SessionHeader, user: string | undefined, message: string): void {
    this.logger.warn({ sid: header.sid, message: `refused: ${message}` });
    const event = sessionStartFailed(
      {
        sid: header.sid,
        user: user ?? '',
        server_id: this.deps.hostId,
        'addr.remote': header.client_addr,
        db_name: header.db_name,
        db_user: header.db_user,
      },
      message,
    );
    this.deps.audit.stage(auditSubject(header.sid, event.event), event.uid, JSON.stringify(event));
    this.deps.audit.commit();
    socket.end(backend.errorResponse({ severity: 'FATAL', code: '28000', message }));
  }
}
