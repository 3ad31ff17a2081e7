import { Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { inboxPrefix, openBucket, watchPeers, type RunningService } from '#libs/bus';
import { BadParameterError, formatByteSize, parseByteSize } from '#libs/common';
import { DEFAULT_AUDIT_SPOOL_MAX_SIZE, type DatabaseConfig, type DbResource } from '#libs/config';
import { Buckets, cancelSubject, DataPlane, Rpc, terminateSubject } from '#libs/events';
import { connectAgentBus, joinCluster, JoinedProcess } from '#libs/join';
import { Provisioner, ProvisioningResponder, RemoteProvisioner } from '#services/provisioning';
import { join } from 'node:path';
import { AuditSpool } from './audit/audit-spool.js';
import { SpoolPublisher } from './audit/spool-publisher.js';
import { ValueType, type BatchObservableResult } from '@opentelemetry/api';
import { instruments, Metric, observeBatch } from '#libs/telemetry';
import { DynamicLabels } from './dynamic-labels.js';
import { CancelKeys } from './postgres/cancel-keys.js';
import { cancelUpstream, connectUpstream } from './postgres/upstream.js';
import { ServedDatabases, type ServedDatabase } from './served-databases.js';
import { SessionIntake } from './session-intake.js';
import { ProxyTunnels } from './tunnel/proxy-tunnels.js';
import { UpstreamAuthenticator } from './upstream-auth.js';

/** PostgreSQL's own limit on a client message (PQ_LARGE_MESSAGE_LIMIT, 1 GiB less 2 bytes with its length word): what it accepts passes. */
export const DEFAULT_MAX_FRAME_LENGTH = 0x3fffffff - 1 - 4;
/** A spool left by a worker is read whatever its size: its own limit applied when it was written. */
const MAX_LEFT_SPOOL_BYTES = Number.MAX_SAFE_INTEGER;
/** The admin user's certificates live this long: one activation or teardown. */
const ADMIN_CERT_TTL_MS = 10 * 60_000;
/** NATS's default max_payload, for when the server has not said yet. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** What a message carries besides its body: the subject, the Nats-Msg-Id header, the protocol line. */
const MESSAGE_OVERHEAD = 1024;

/** The Provisioner of a database with an admin user: the admin connects with a certificate (or IAM token) for the session it works for. */
function provisionerOf(db: DatabaseConfig, upstreamAuth: UpstreamAuthenticator): Provisioner | undefined {
  const admin = db.admin_user;
  if (!admin) return undefined;
  const dial = async (database: string, sid: string) => {
    const auth = await upstreamAuth.for(db, admin.name, ADMIN_CERT_TTL_MS, sid);
    return (await connectUpstream(db, admin.name, database, { application_name: 'teleport-auto-user-provisioning' }, auth)).socket;
  };
  return new Provisioner(db.name, admin, dial);
}

/** The Provisioner of each database with an admin user. */
export function provisionersOf(databases: DatabaseConfig[], upstreamAuth: UpstreamAuthenticator): Map<string, Provisioner> {
  return new Map(
    databases.flatMap((db) => {
      const provisioner = provisionerOf(db, upstreamAuth);
      return provisioner ? [[db.name, provisioner] as const] : [];
    }),
  );
}

export interface DatabaseServiceOptions {
  /** Whether this process provisions the database users of its databases (else another does, on the bus). */
  provisioning: boolean;
  proxyAddr: string;
  token?: string;
  caPin?: string;
  /** Discard a saved identity and join again with the token. */
  rejoin?: boolean;
  dataDir: string;
  hostId: string;
  databases: DatabaseConfig[];
  /** db_service.resources: the `kind: db` resources with labels one of these selects are served too. */
  resourceSelectors?: Array<Record<string, string | string[]>>;
  /** db_service.audit_spool.max_size in bytes; default 1 GiB. */
  auditSpoolMaxBytes?: number;
  /**
   * Audit spools no process writes any more (of workers db_service.workers no longer asks for): what
   * they hold is sent to the AUDIT stream by this service.
   */
  leftSpools?: string[];
}

function toResource(db: DatabaseConfig, dynamic: Record<string, string>): DbResource {
  return {
    kind: 'db',
    version: 'v3',
    metadata: {
      name: db.name,
      ...(db.description ? { description: db.description } : {}),
      labels: { ...db.labels, ...db.static_labels, ...dynamic },
    },
    spec: {
      protocol: db.protocol,
      uri: db.uri,
      ...(db.tls
        ? { tls: { ...(db.tls.mode ? { mode: db.tls.mode } : {}), ...(db.tls.server_name ? { server_name: db.tls.server_name } : {}) } }
        : {}),
      ...(db.admin_user ? { admin_user: db.admin_user } : {}),
      ...(db.aws ? { aws: db.aws } : {}),
    },
  };
}

/**
 * The Database Service (`teleport db start`): serves the configured databases to the cluster. It dials
 * out only, to the proxy's port: its bus connection and the tunnels proxies hand sessions over, so it
 * opens no listening port.
 */
export async function startDatabaseService(options: DatabaseServiceOptions): Promise<RunningService> {
  const logger = new Logger('db');
  const selectors = options.resourceSelectors ?? [];
  if (!options.databases.length && !selectors.length)
    throw new BadParameterError(
      'no databases to serve: pass --name, --protocol and --uri, list db_service.databases, or select db resources with db_service.resources',
    );
  const agent = new JoinedProcess(await joinCluster({ ...options, role: 'Db' }), 'Db', options.hostId, options.dataDir);
  // The bus, through the proxy's port: TLS with this service's host certificate, NATS credentials inside.
  const { nc, rpc } = await connectAgentBus(agent, `db-${options.hostId}`);
  const unwatchPeers = watchPeers(rpc, [Rpc.Auth.Ping, Rpc.Broker.Ping]);
  // Audit events reach the spool in the data dir before the bytes that caused them go on; it is
  // drained to the AUDIT stream (which belongs to the control plane: this service only publishes).
  const spool = AuditSpool.open({
    dir: join(options.dataDir, 'audit-spool'),
    maxBytes: options.auditSpoolMaxBytes ?? parseByteSize(DEFAULT_AUDIT_SPOOL_MAX_SIZE),
    warn: (message) => logger.warn(message),
  });
  const unsent = spool.end - spool.acknowledged;
  if (unsent) logger.log(`the audit spool holds ${formatByteSize(unsent)} of events not yet in the audit log; sending them`);
  const publisher = new SpoolPublisher(nc, spool, { inboxPrefix: inboxPrefix(agent.credentials.identity) });
  publisher.start();
  const stopObserving = observeAudit(spool, publisher);
  const leftovers = (options.leftSpools ?? []).map((dir) => sendLeftSpool(dir, nc, inboxPrefix(agent.credentials.identity), logger));
  const cancelKeys = new CancelKeys();
  const labels = new DynamicLabels(options.databases);
  const upstreamAuth = await UpstreamAuthenticator.create(options.databases, rpc, options.hostId);
  // Sessions ask for their provisioned users over the bus; by default this process answers too, with the
  // admin users of its databases (provisioning_service.enabled: no leaves that to --roles=provisioning).
  const responder = options.provisioning
    ? new ProvisioningResponder(nc, rpc, provisionersOf(options.databases, upstreamAuth), agent.credentials.identity)
    : undefined;
  responder?.start();

  const intake = new SessionIntake({
    hostId: options.hostId,
    rpc,
    audit: spool,
    maxEventBytes: () => (nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - MESSAGE_OVERHEAD,
    cancelKeys,
    userCas: () => agent.userCas(),
    database: (name) => served.find(name),
    sessionDeps: (db, sid, ctx) => ({
      maxFrameLength: DEFAULT_MAX_FRAME_LENGTH,
      upstreamAuth: (dbUser: string, ttlMs: number) => upstreamAuth.for(db, dbUser, ttlMs, sid),
      ...(db.admin_user ? { provisioner: new RemoteProvisioner(rpc.in(ctx), db.name) } : {}),
    }),
  });
  // Sessions of an earlier run of this service are over: the registry forgets them.
  await rpc.call(Rpc.Broker.SessionsEnd, { all: true }).catch((err: Error) => logger.warn(`clearing earlier sessions: ${err.message}`));

  const cancels = nc.subscribe(cancelSubject(options.hostId), {
    callback: (_err, msg) => {
      const parsed = DataPlane.CancelRequest.safeParse(safeJson(msg.string()));
      const target = parsed.success ? cancelKeys.lookup(parsed.data.process_id, parsed.data.secret_key) : undefined;
      if (target)
        void cancelUpstream(target.uri, target.processId, target.secretKey).catch((err: Error) =>
          logger.warn(`cancel failed: ${err.message}`),
        );
    },
  });
  const terminations = nc.subscribe(terminateSubject(options.hostId), {
    callback: (_err, msg) => {
      const parsed = DataPlane.TerminateMessageSchema.safeParse(safeJson(msg.string()));
      if (parsed.success) intake.terminate(parsed.data.sid, parsed.data.message);
    },
  });

  const bucket = await openBucket(nc, Buckets.DbServers);
  const keyOf = (db: DatabaseConfig) => `${db.name}.${options.hostId}`;
  const register = async (db: ServedDatabase) => {
    const expires = new Date(Date.now() + DataPlane.REGISTRATION_TTL_MS).toISOString();
    const entry: DataPlane.DbServer = { host_id: options.hostId, resource: toResource(db, labels.of(db.name)), origin: db.origin, expires };
    await bucket.put(keyOf(db), JSON.stringify(entry));
  };
  const heartbeat = async () => {
    // One that stopped being served meanwhile is not registered again.
    for (const db of served.all()) if (served.find(db.name) === db) await register(db);
  };
  // kind: db resources that db_service.resources select come and go: registered, or unregistered with their sessions ended.
  const served: ServedDatabases = new ServedDatabases(options.databases, selectors, rpc, async ({ added, removed }) => {
    for (const db of removed) {
      responder?.unserve(db.name);
      await bucket.delete(keyOf(db)).catch(() => undefined);
      if (!served.find(db.name)) {
        intake.terminateDatabase(db.name, `database "${db.name}" is no longer served: its db resource was deleted or no longer matches`);
        logger.log(`no longer serving db resource "${db.name}"`);
      }
    }
    for (const db of added) {
      const provisioner = options.provisioning ? provisionerOf(db, upstreamAuth) : undefined;
      if (provisioner) responder?.serve(db.name, provisioner);
      await register(db);
      logger.log(`serving db resource "${db.name}" (${db.uri})`);
    }
  });
  const tunnels = new ProxyTunnels(
    agent.proxyAddr,
    () => agent.tls(),
    (socket) => intake.accept(socket),
  );
  await tunnels.start(await openBucket(nc, Buckets.Proxies));
  await served.start();
  await heartbeat();
  // Stopping waits for a heartbeat in flight, so none re-registers a database after it was removed.
  let beating: Promise<void> = Promise.resolve();
  const beat = setInterval(() => {
    beating = heartbeat().catch((err: Error) => logger.warn(`heartbeat failed: ${err.message}`));
  }, DataPlane.HEARTBEAT_MS);

  const what = [
    ...(options.databases.length ? [options.databases.map((d) => d.name).join(', ')] : []),
    ...(selectors.length ? [`the db resources labeled ${selectors.map(formatSelector).join(' or ')}`] : []),
  ].join(' and ');
  logger.log(`Database Service ${options.hostId} serving ${what} to cluster "${agent.clusterName}" through ${agent.proxyAddr}`);
  return {
    name: 'db',
    async close() {
      unwatchPeers();
      clearInterval(beat);
      await served.stop();
      await beating;
      labels.stop();
      tunnels.stop();
      cancels.unsubscribe();
      terminations.unsubscribe();
      responder?.stop();
      agent.credentials.stopRenewal();
      await Promise.all(served.all().map((db) => bucket.delete(keyOf(db)).catch(() => undefined)));
      // What is not acknowledged by then stays in the spool for the next start.
      await Promise.all([publisher.close(5_000), ...leftovers.map((left) => left.close())]);
      stopObserving();
      await spool.close();
      await nc.close();
    },
  };
}

/**
 * Sends what the audit spool in `dir` holds, written by a worker that no longer runs, to the AUDIT
 * stream, then closes it; `close` stops sooner, leaving the rest for the next start.
 */
function sendLeftSpool(dir: string, nc: NatsConnection, prefix: string, logger: Logger): { close(): Promise<void> } {
  const spool = AuditSpool.open({ dir, maxBytes: MAX_LEFT_SPOOL_BYTES, warn: (message) => logger.warn(`${dir}: ${message}`) });
  const unsent = spool.end - spool.acknowledged;
  if (!unsent) {
    const closed = spool.close();
    return { close: () => closed };
  }
  logger.log(`${dir} holds ${formatByteSize(unsent)} of audit events of a worker that no longer runs; sending them`);
  const publisher = new SpoolPublisher(nc, spool, { inboxPrefix: prefix });
  publisher.start();
  let stopping = false;
  const done = (async () => {
    while (!stopping && publisher.pending() > 0) await new Promise((r) => setTimeout(r, 100));
    await publisher.close(stopping ? 5_000 : 0);
    await spool.close();
    if (!stopping) logger.log(`${dir}: every audit event it held is in the audit log`);
  })();
  return {
    close: () => {
      stopping = true;
      return done;
    },
  };
}

/** The audit pipeline of this service in its metrics: events spooled, published, failures, what waits. */
function observeAudit(spool: AuditSpool, publisher: SpoolPublisher): () => void {
  const meter = instruments().meter;
  const events = { unit: '{event}', valueType: ValueType.INT };
  const queued = meter.createObservableCounter(Metric.AuditQueued, {
    ...events,
    description: 'Audit events written to the audit spool, to be published',
  });
  const published = meter.createObservableCounter(Metric.AuditPublished, {
    ...events,
    description: 'Audit events the AUDIT stream acknowledged',
  });
  const failures = meter.createObservableCounter(Metric.AuditPublishFailures, {
    unit: '{failure}',
    valueType: ValueType.INT,
    description: 'Times publishing audit events failed (no acknowledgement, an error, a lost connection) and started over',
  });
  const pending = meter.createObservableGauge(Metric.AuditSpoolPending, {
    unit: 'By',
    valueType: ValueType.INT,
    description: 'Bytes of audit events in the spool that the AUDIT stream has not acknowledged',
  });
  const lag = meter.createObservableGauge(Metric.AuditPublishLag, {
    unit: 's',
    description: 'How long events have waited for the AUDIT stream without an acknowledgement; 0 when none wait',
  });
  const observables = [queued, published, failures, pending, lag];
  const observe = (result: BatchObservableResult) => {
    result.observe(queued, spool.committedEvents);
    result.observe(published, publisher.stats.published);
    result.observe(failures, publisher.stats.failures);
    result.observe(pending, publisher.pending());
    result.observe(lag, publisher.lagSeconds());
  };
  return observeBatch(observables, observe);
}

/** `env=test,team=a|b` */
function formatSelector(selector: Record<string, string | string[]>): string {
  return Object.entries(selector)
    .map(([key, value]) => `${key}=${[value].flat().join('|')}`)
    .join(',');
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
