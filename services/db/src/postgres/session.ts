import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Logger } from '@nestjs/common';
import { ROOT_CONTEXT, type Context, type Span } from '@opentelemetry/api';
import { DomainError, relay } from '#libs/common';
import type { DatabaseConfig } from '#libs/config';
import { AuditCode, AuditEvent, SESSION_START_FAILED_CODE, type DataPlane, type SessionMetadata } from '#libs/events';
import {
  backend,
  BackendType,
  FrameScanner,
  FrameTooLargeError,
  FrontendType,
  formatParameters,
  parseCommandComplete,
  parseErrorFields,
  parseFrontendMessage,
  parseFrontendPrefix,
  ProtocolViolationError,
  type ErrorFields,
  type Inspection,
  type ScannedFrame,
} from '#libs/pg-wire';
import { Attr, dataPathCounts, endSpan, inSpan, instruments, isTraced, secondsSince, tracer, type DataPathCounts } from '#libs/telemetry';
import { ProvisioningError, type RemoteProvisioner } from '#services/provisioning';
import { SessionAudit, type AuditSink } from '../audit/session-audit.js';
import type { CancelKeys } from './cancel-keys.js';
import { ResultRecorder } from './result-recorder.js';
import { connectUpstream, discardDialed, UpstreamRefusedError, type UpstreamAuth, type UpstreamSession } from './upstream.js';

const AUDITED_CLIENT = new Set<number>([
  FrontendType.Query,
  FrontendType.Parse,
  FrontendType.Bind,
  FrontendType.Execute,
  FrontendType.Close,
  FrontendType.FunctionCall,
]);
const AUDITED_SERVER = new Set<number>([BackendType.CommandComplete, BackendType.ErrorResponse]);
/** A client message's audit event is made from its first bytes, at least these many. */
const MIN_INSPECT_BYTES = 64 * 1024;
/** Server frames are read only for their small command tags and errors; their size is the database's business. */
const SERVER_MAX_FRAME = 0x7fffffff;

/** One session as the broker confirmed it, with what the client's StartupMessage asked for. */
export interface SessionContext {
  sid: string;
  cluster_name: string;
  user: string;
  /** The Teleport roles that granted access (the audit events' db_roles). */
  matched_roles: string[];
  /** The user's certificate expires then, and the session with it. */
  expires: string;
  db_service: string;
  db_user: string;
  db_name: string;
  db_origin: string;
  /** StartupMessage parameters other than user and database (application_name, options, ...). */
  parameters: Record<string, string>;
  client_addr: string;
  record_results?: DataPlane.SessionGrant['record_results'];
  auto_user?: DataPlane.AutoUser;
  /** The secret of the BackendKeyData the client gets (with the backend's own process id); the broker routes cancel requests by it. */
  cancel_secret: number;
}

export interface SessionDeps {
  hostId: string;
  /** The audit spool: every event is written there before the bytes that caused it go on. */
  audit: AuditSink;
  /** The largest event body a NATS message can carry. */
  maxEventBytes: () => number;
  cancelKeys: CancelKeys;
  /** How to authenticate as the database user: a db_client certificate valid for `ttlMs`, or an RDS IAM token. */
  upstreamAuth(dbUser: string, ttlMs: number): Promise<UpstreamAuth>;
  /** The largest client message accepted (bytes). */
  maxFrameLength: number;
  /** Automatic database users of this database; none without admin_user. */
  provisioner?: RemoteProvisioner;
  /** When the session's stream arrived (performance.now()): its setup time counts from there. */
  accepted?: number;
  /** The connection to the database dialed while the broker confirmed the session (dialUpstream): the first connect uses it. */
  dialed?: Promise<Socket>;
  /** The session's trace: the proxy's, continued by the Database Service's span. */
  trace?: Context;
}

/** How a session that ran ended, for dbaccess.sessions.ended. */
type Outcome = 'closed' | 'terminated' | 'failed';

/** One database session: the stream from the proxy on one side, PostgreSQL on the other. */
export class PostgresSession {
  private readonly logger = new Logger('db');
  private readonly audit: SessionAudit;
  /** Set while a chunk is observed: its events are written together, before it is forwarded. */
  private batching = false;
  /** The audit spool refused events: nothing more is forwarded. */
  private unaudited = false;
  private readonly started = new Date();
  private closed = false;
  private readonly recorder?: ResultRecorder;
  /** Deactivates the provisioned user once the session is over. */
  private teardown?: () => Promise<void>;
  /** Ends the running session with a FATAL the client sees (set once it runs). */
  private stop?: (fields: ErrorFields) => void;
  private done!: () => void;
  private outcome: Outcome = 'closed';
  private readonly counts: DataPathCounts;
  /** The first statement's span, while it runs. */
  private firstStatement?: Span | 'done';
  /** The database (as the cluster names it) this session is to. */
  get database(): string {
    return this.header.db_service;
  }

  /** Resolves once the session is over: refused, or ended with its user torn down and its end recorded. */
  readonly ended = new Promise<void>((resolve) => (this.done = resolve));

  constructor(
    private readonly client: TLSSocket,
    private readonly header: SessionContext,
    private readonly db: DatabaseConfig & { db_type: string },
    private readonly deps: SessionDeps,
  ) {
    const meta: SessionMetadata = {
      cluster_name: header.cluster_name,
      sid: header.sid,
      user: header.user,
      server_id: deps.hostId,
      'addr.remote': header.client_addr,
      db_service: header.db_service,
      db_protocol: 'postgres',
      db_uri: db.uri,
      db_name: header.db_name,
      db_user: header.db_user,
      db_roles: header.matched_roles,
      db_type: db.db_type,
      db_origin: header.db_origin,
      ...(header.parameters.application_name ? { user_agent: header.parameters.application_name } : {}),
    };
    this.audit = new SessionAudit(meta, deps.audit, deps.maxEventBytes);
    this.counts = dataPathCounts(header.db_service);
    if (header.record_results) this.recorder = new ResultRecorder(header.record_results);
  }

  /** Stages an event; outside a chunk (start, end, provisioning) it is written at once. */
  private emit(event: string, code: string, fields: Record<string, unknown>): void {
    if (!this.audit.emit(event, code, fields)) return this.auditRefused();
    if (!this.batching) this.commitAudit();
  }

  /** Writes the staged events; false (and the session ends) if the spool refused them. */
  private commitAudit(): boolean {
    if (!this.audit.commit()) this.auditRefused();
    return !this.unaudited;
  }

  private auditRefused(): void {
    if (this.unaudited) return;
    this.unaudited = true;
    this.outcome = 'terminated';
    this.fail({ severity: 'FATAL', code: '53300', message: `${this.deps.audit.refusal()}; the session ends rather than run unaudited` });
  }

  /** Audits the frames of one chunk and writes their events with one write(); false if it must not be forwarded. */
  private observe(chunk: Buffer, scanner: FrameScanner, onFrame: (frame: ScannedFrame) => void, onError?: (err: unknown) => void): boolean {
    if (this.unaudited) return false;
    this.batching = true;
    try {
      for (const frame of scanner.push(chunk)) onFrame(frame);
    } catch (err) {
      if (!onError) throw err;
      onError(err);
      this.commitAudit();
      return false;
    } finally {
      this.batching = false;
    }
    return this.commitAudit();
  }

  /** Ends the session with an ErrorResponse the client can show. */
  private fail(fields: ErrorFields): void {
    if (!this.client.destroyed) this.client.end(backend.errorResponse(fields));
  }

  async run(): Promise<void> {
    let dialed = this.deps.dialed;
    try {
      await this.serve(() => {
        const taken = dialed;
        dialed = undefined;
        return taken;
      });
    } finally {
      // Not used: the session was refused before it connected.
      discardDialed(dialed);
    }
  }

  private async serve(takeDialed: () => Promise<Socket> | undefined): Promise<void> {
    const ttlMs = Date.parse(this.header.expires) - Date.now();
    if (!this.deps.audit.acceptingSessions()) {
      this.done();
      return this.fail({
        severity: 'FATAL',
        code: '53300',
        message: `${this.deps.audit.refusal()}, so new sessions are refused; try again shortly`,
      });
    }
    if (ttlMs <= 0)
      return this.refuse({ severity: 'FATAL', code: '28000', message: "your certificate has expired: run 'tsh login' again" });

    let upstream;
    try {
      const auth = await this.deps.upstreamAuth(this.header.db_user, ttlMs);
      const ctx = this.deps.trace ?? ROOT_CONTEXT;
      const connect = () =>
        inSpan(
          'connect upstream',
          ctx,
          () => connectUpstream(this.db, this.header.db_user, this.header.db_name, this.header.parameters, auth, takeDialed()),
          {
            attributes: { 'server.address': this.db.uri, 'db.namespace': this.header.db_name },
          },
        );
      upstream = this.header.auto_user
        ? await inSpan('provision database user', ctx, () => this.provisioned(this.header.auto_user!, connect))
        : await connect();
    } catch (err) {
      if (err instanceof UpstreamRefusedError) return this.refuse({ ...err.fields, severity: 'FATAL' } as ErrorFields, err.frame);
      if (err instanceof ProvisioningError) return this.refuse({ ...err.fields, severity: 'FATAL' } as ErrorFields);
      const message = err instanceof DomainError ? err.message : `cannot connect to the database: ${(err as Error).message}`;
      return this.refuse({ severity: 'FATAL', code: '08006', message });
    }
    if (this.client.destroyed) {
      upstream.socket.destroy();
      return void (this.teardown?.() ?? Promise.resolve()).finally(() => this.done());
    }

    this.countStart();
    const secret = this.header.cancel_secret;
    this.deps.cancelKeys.bind(secret, { uri: this.db.uri, processId: upstream.processId, secretKey: upstream.secretKey });
    this.emit(AuditEvent.SessionStart, AuditCode[AuditEvent.SessionStart], { success: true });
    this.client.write(
      Buffer.concat([
        backend.authenticationOk(),
        ...upstream.startupFrames,
        backend.backendKeyData(upstream.processId, secret),
        backend.readyForQuery(upstream.status),
      ]),
    );

    const server = upstream.socket;
    const fromClient = new FrameScanner({
      phase: 'regular',
      maxFrameLength: this.deps.maxFrameLength,
      inspect: (type) => (type !== null && AUDITED_CLIENT.has(type)) || 'skip',
      // An event holds no more than a NATS message: what lies beyond is passed on, not kept.
      maxInspectBytes: Math.max(MIN_INSPECT_BYTES, this.deps.maxEventBytes()),
    });
    const fromServer = new FrameScanner({
      phase: 'regular',
      maxFrameLength: SERVER_MAX_FRAME,
      inspect: (type, length) => this.inspectServer(type, length),
    });

    this.stop = (fields: ErrorFields) => {
      this.outcome = 'terminated';
      // Said between two server messages only; mid-message, the close alone has to do.
      if (!fromServer.midFrame) this.client.write(backend.errorResponse(fields));
      this.close(server);
    };
    const expiry = setTimeout(
      () => this.stop!({ severity: 'FATAL', code: '57P01', message: "your certificate has expired: run 'tsh login' and connect again" }),
      ttlMs,
    );
    expiry.unref();

    const end = () => {
      clearTimeout(expiry);
      this.deps.cancelKeys.release(secret);
      this.close(server);
    };
    this.client.once('close', end);
    server.once('close', end);
    this.client.on('error', () => end());
    server.on('error', () => end());

    relay(this.client, server, (chunk) => {
      this.counts.bytesFromClient += chunk.length;
      return this.observe(
        chunk,
        fromClient,
        (frame) => this.onClientFrame(frame),
        (err) => this.onMalformed(err, server),
      );
    });
    relay(server, this.client, (chunk) => {
      this.counts.bytesToClient += chunk.length;
      return this.observe(chunk, fromServer, (frame) => this.onServerFrame(frame));
    });
  }

  /** The session runs: in the metrics, with the time its setup took since the stream arrived. */
  private countStart(): void {
    const m = instruments();
    const attributes = { [Attr.Database]: this.header.db_service };
    m.sessionsStarted.add(1, attributes);
    m.sessionsActive.add(1, attributes);
    if (this.deps.accepted !== undefined) m.setupDuration.record(secondsSince(this.deps.accepted), attributes);
    void this.ended.then(() => {
      m.sessionsActive.add(-1, attributes);
      m.sessionsEnded.add(1, { ...attributes, [Attr.Outcome]: this.outcome });
    });
  }

  /**
   * What the session reads of a server frame: the payload of command tags, errors and what the result
   * recorder keeps; the header of a ReadyForQuery that ends the first statement's span and of the rows
   * the recorder counts; nothing of anything else.
   */
  private inspectServer(type: number | null, length: number): Inspection {
    if (type === null) return 'skip';
    if (AUDITED_SERVER.has(type) || this.recorder?.wants(type, length)) return true;
    if (type === BackendType.DataRow && this.recorder) return false;
    if (type === BackendType.ReadyForQuery && this.firstStatement !== undefined && this.firstStatement !== 'done') return false;
    return 'skip';
  }

  /** A statement: counted, and the first one timed in the session's trace up to its ReadyForQuery. */
  private statement(): void {
    this.counts.statements++;
    if (this.firstStatement === undefined && this.deps.trace && isTraced(this.deps.trace))
      this.firstStatement = tracer().startSpan('first query', { attributes: { 'db.namespace': this.header.db_name } }, this.deps.trace);
  }

  /** Ends the session now (a lock, a deleted user, revoked access), telling the client why. */
  terminate(message: string): void {
    if (this.stop) this.stop({ severity: 'FATAL', code: '57P01', message });
    else this.fail({ severity: 'FATAL', code: '57P01', message });
  }

  /** Activates the database user (provisioning), connects as it, and keeps its teardown for the end. */
  private async provisioned(autoUser: DataPlane.AutoUser, connect: () => Promise<UpstreamSession>): Promise<UpstreamSession> {
    if (!this.deps.provisioner)
      throw new ProvisioningError({
        code: '28000',
        message:
          `your Teleport role requires automatic database user provisioning but the Database Service serving ` +
          `"${this.header.db_service}" has no admin user for it: set admin_user.name in its db_service entry and restart it`,
      });
    const activated = await this.deps.provisioner.activate(
      {
        sid: this.header.sid,
        user: this.header.db_user,
        database: this.header.db_name,
        autoUser,
        emit: (event, code, fields) => this.emit(event, code, fields),
      },
      connect,
    );
    this.teardown = activated.teardown;
    return activated.upstream;
  }

  /** The session cannot start: audited, and the client told why (with the database's own message when it refused). */
  private refuse(fields: ErrorFields, frame?: Buffer): void {
    this.done();
    this.emit(AuditEvent.SessionStart, SESSION_START_FAILED_CODE, { success: false, error: fields.message, message: fields.message });
    if (frame && !this.client.destroyed) this.client.end(frame);
    else this.fail(fields);
  }

  private onClientFrame(frame: ScannedFrame): void {
    if (!frame.payload || frame.type === null) return;
    const msg = frame.truncated ? parseFrontendPrefix(frame.type, frame.payload) : parseFrontendMessage(frame.type, frame.payload);
    if (!msg) return;
    switch (msg.kind) {
      case 'Query':
        this.statement();
        return this.emit(AuditEvent.Query, AuditCode[AuditEvent.Query], { db_query: msg.sql, success: true });
      case 'Parse':
        return this.emit(AuditEvent.Parse, AuditCode[AuditEvent.Parse], { statement_name: msg.statementName, query: msg.sql });
      case 'Bind':
        return this.emit(AuditEvent.Bind, AuditCode[AuditEvent.Bind], {
          statement_name: msg.statementName,
          portal_name: msg.portalName,
          parameters: formatParameters(msg.parameterFormats, msg.parameters),
        });
      case 'Execute':
        this.statement();
        return this.emit(AuditEvent.Execute, AuditCode[AuditEvent.Execute], { portal_name: msg.portalName });
      case 'Close':
        return this.emit(
          AuditEvent.Close,
          AuditCode[AuditEvent.Close],
          msg.target === 'S' ? { statement_name: msg.name } : { portal_name: msg.name },
        );
      case 'FunctionCall':
        return this.emit(AuditEvent.Function, AuditCode[AuditEvent.Function], {
          function_oid: msg.functionOid,
          function_args: formatParameters(msg.argumentFormats, msg.arguments),
        });
      default:
        return;
    }
  }

  private onServerFrame(frame: ScannedFrame): void {
    this.recorder?.onFrame(frame);
    if (frame.type === BackendType.ReadyForQuery && this.firstStatement && this.firstStatement !== 'done') {
      endSpan(this.firstStatement);
      this.firstStatement = 'done';
    }
    if (!frame.payload) return;
    if (frame.type === BackendType.CommandComplete) {
      const { rowCount } = parseCommandComplete(frame.payload);
      this.emit(AuditEvent.Result, AuditCode[AuditEvent.Result], {
        affected_records: rowCount ?? 0,
        success: true,
        ...this.recorder?.take(),
      });
    } else if (frame.type === BackendType.ErrorResponse) {
      this.recorder?.reset();
      const fields = parseErrorFields(frame.payload);
      this.emit(AuditEvent.Result, AuditCode[AuditEvent.Result], { affected_records: 0, success: false, error: fields.M ?? 'error' });
    }
  }

  private onMalformed(err: unknown, server: TLSSocket): void {
    const tooLarge = err instanceof FrameTooLargeError;
    if (!tooLarge && !(err instanceof ProtocolViolationError)) throw err;
    this.outcome = 'failed';
    this.emit(AuditEvent.MalformedPacket, AuditCode[AuditEvent.MalformedPacket], { error: (err as Error).message });
    this.logger.warn({ sid: this.header.sid, message: (err as Error).message });
    this.fail({ severity: 'FATAL', code: tooLarge ? '54000' : '08P01', message: (err as Error).message });
    this.close(server);
  }

  private close(server: TLSSocket): void {
    if (this.closed) return;
    this.closed = true;
    server.destroy();
    this.client.end();
    const fields = { session_start: this.started.toISOString(), session_stop: new Date().toISOString() };
    const end = () => {
      this.emit(AuditEvent.SessionEnd, AuditCode[AuditEvent.SessionEnd], fields);
      if (this.firstStatement && this.firstStatement !== 'done') endSpan(this.firstStatement);
      this.done();
    };
    // The provisioned user's deactivation belongs to the session: its event comes before the end.
    if (this.teardown) void this.teardown().finally(end);
    else end();
  }
}
