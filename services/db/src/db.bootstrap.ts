import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import { Logger } from '@nestjs/common';
import { connectNats, openDbServersBucket, RpcClient, type RunningService } from '#libs/bus';
import { BadParameterError, formatByteSize, formatHostPort, parseByteSize, parseHostPort } from '#libs/common';
import { databaseType, DEFAULT_AUDIT_SPOOL_MAX_SIZE, type DatabaseConfig, type DbResource } from '#libs/config';
import { CANCEL_SUBJECT, DataPlane } from '#libs/events';
import { certificatePem, generateKeyPair, issuerCaType, parseHostIdentity } from '#libs/pki';
import { AuditSpool } from './audit/audit-spool.js';
import { SpoolPublisher } from './audit/spool-publisher.js';
import { AwsIdentities } from './aws/credentials.js';
import { RdsIamAuth } from './aws/rds-iam.js';
import { ClientCertificates } from './client-certificates.js';
import { DynamicLabels } from './dynamic-labels.js';
import { joinCluster } from './join.js';
import { CancelKeys } from './postgres/cancel-keys.js';
import { PostgresSession } from './postgres/session.js';
import { cancelUpstream, connectUpstream, type UpstreamAuth } from './postgres/upstream.js';
import { readSessionHeader } from './session-header.js';
import { Provisioner } from '#services/provisioning';

export const HEARTBEAT_MS = 10_000;
/** A registration not renewed for this long is gone: a stopped service's databases leave `tsh db ls`. */
export const REGISTRATION_TTL_MS = 3 * HEARTBEAT_MS;
export const DEFAULT_MAX_FRAME_LENGTH = 128 * 1024 * 1024;
/** The admin user's certificates live this long: one activation or teardown. */
const ADMIN_CERT_TTL_MS = 10 * 60_000;
/** NATS's default max_payload, for when the server has not said yet. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** What a message carries besides its body: the subject, the Nats-Msg-Id header, the protocol line. */
const MESSAGE_OVERHEAD = 1024;

export interface DatabaseServiceOptions {
  proxyAddr: string;
  token?: string;
  caPin?: string;
  dataDir: string;
  hostId: string;
  databases: DatabaseConfig[];
  listenAddr: string;
  publicAddr?: string;
  /** Configured NATS servers; without them, the ones the cluster named when this service joined. */
  natsServers?: string[];
  /** db_service.audit_spool.max_size in bytes; default 1 GiB. */
  auditSpoolMaxBytes?: number;
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

/** The Database Service (`teleport db start`): serves the configured databases to the cluster's proxies. */
export async function startDatabaseService(options: DatabaseServiceOptions): Promise<RunningService> {
  const logger = new Logger('db');
  if (!options.databases.length)
    throw new BadParameterError('no databases to serve: pass --name, --protocol and --uri, or list db_service.databases');
  const joined = await joinCluster(options);
  const natsServers = options.natsServers?.length ? options.natsServers : joined.natsServers;
  const nc = await connectNats(natsServers, `db-${options.hostId}`);
  // The AUDIT stream belongs to the control plane: this service only publishes into it.
  const spool = AuditSpool.open({
    dir: join(options.dataDir, 'audit-spool'),
    maxBytes: options.auditSpoolMaxBytes ?? parseByteSize(DEFAULT_AUDIT_SPOOL_MAX_SIZE),
    warn: (message) => logger.warn(message),
  });
  const unsent = spool.end - spool.acknowledged;
  if (unsent) logger.log(`the audit spool holds ${formatByteSize(unsent)} of events not yet in the audit log; sending them`);
  const publisher = new SpoolPublisher(nc, spool);
  publisher.start();
  const auth = new RpcClient(natsServers, `db-${options.hostId}-auth`);
  const cancelKeys = new CancelKeys();
  const labels = new DynamicLabels(options.databases);
  const dbClientKey = await generateKeyPair();
  const certificates = new ClientCertificates(auth, dbClientKey.publicKeyPem);
  const rdsIam = new RdsIamAuth(new AwsIdentities(`teleport-db-${options.hostId}`));
  const caFiles = new Map(
    options.databases.map((db) => [db.name, db.tls?.ca_cert_file ? readFileSync(db.tls.ca_cert_file, 'utf8') : undefined]),
  );
  const { identity } = joined;
  /** How `dbUser` authenticates to `db`: an IAM token for RDS and Aurora, else a db_client certificate. */
  const upstreamAuth = async (db: DatabaseConfig, dbUser: string, ttlMs: number, context: string): Promise<UpstreamAuth> => {
    const ca = caFiles.get(db.name);
    if (databaseType(db) === 'rds') {
      const password = await rdsIam.token(db, dbUser).catch((err: Error) => {
        logger.warn(`${context}: no IAM token for ${dbUser} at ${db.name}: ${err.message}`);
        throw err;
      });
      return {
        password,
        ...(ca ? { caPems: [ca] } : {}),
        rejected: async (message: string) => {
          const err = await rdsIam.rejected(db, dbUser, message);
          logger.warn(`${context}: ${err.message}`);
          return err;
        },
      };
    }
    const signed = await certificates.get(dbUser, ttlMs);
    return { certPem: signed.certPem, privateKeyPem: dbClientKey.privateKeyPem, caPems: ca ? [ca] : (signed.cas.db ?? []) };
  };
  // Provisioning runs here, beside the sessions, because only this service speaks to the database.
  const provisioners = new Map(
    options.databases.flatMap((db) => {
      const admin = db.admin_user;
      if (!admin) return [];
      const dial = async (database: string) => {
        const auth = await upstreamAuth(db, admin.name, ADMIN_CERT_TTL_MS, `provisioning at ${db.name}`);
        return (await connectUpstream(db, admin.name, database, { application_name: 'teleport-auto-user-provisioning' }, auth)).socket;
      };
      return [[db.name, new Provisioner(db.name, admin, dial)] as const];
    }),
  );

  const deps = {
    hostId: options.hostId,
    audit: spool,
    maxEventBytes: () => (nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - MESSAGE_OVERHEAD,
    cancelKeys,
    maxFrameLength: DEFAULT_MAX_FRAME_LENGTH,
  };

  const server = createServer({
    key: identity.privateKeyPem,
    cert: identity.certPem,
    ca: identity.cas.host ?? [],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    const peer = socket.getPeerCertificate(true);
    const pem = peer?.raw ? certificatePem(peer.raw) : '';
    if (!pem || issuerCaType(pem) !== 'host' || parseHostIdentity(pem).systemRole !== 'Proxy') return void socket.destroy();
    void readSessionHeader(socket)
      .then((header) => {
        const db = options.databases.find((d) => d.name === header.db_service);
        if (!db) return void socket.destroy();
        const dbType = databaseType(db);
        const session = new PostgresSession(
          socket,
          header,
          { ...db, db_type: dbType },
          {
            ...deps,
            upstreamAuth: (dbUser: string, ttlMs: number) => upstreamAuth(db, dbUser, ttlMs, `session ${header.sid}`),
            ...(provisioners.has(db.name) ? { provisioner: provisioners.get(db.name)! } : {}),
          },
        );
        return session.run();
      })
      .catch((err: Error) => {
        logger.warn(`session stream refused: ${err.message}`);
        socket.destroy();
      });
  });
  const listen = parseHostPort(options.listenAddr, 0);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const bound = server.address() as { port: number };
  const addr =
    options.publicAddr ??
    formatHostPort({ host: listen.host === '0.0.0.0' || listen.host === '::' ? hostname() : listen.host, port: bound.port });

  const bucket = await openDbServersBucket(nc);
  const keyOf = (db: DatabaseConfig) => `${db.name}.${options.hostId}`;
  const heartbeat = async () => {
    const expires = new Date(Date.now() + REGISTRATION_TTL_MS).toISOString();
    for (const db of options.databases) {
      const entry: DataPlane.DbServer = { host_id: options.hostId, addr, resource: toResource(db, labels.of(db.name)), expires };
      await bucket.put(keyOf(db), JSON.stringify(entry));
    }
  };
  await heartbeat();
  // Stopping waits for a heartbeat in flight, so none re-registers a database after it was removed.
  let beating: Promise<void> = Promise.resolve();
  const beat = setInterval(() => {
    beating = heartbeat().catch((err: Error) => logger.warn(`heartbeat failed: ${err.message}`));
  }, HEARTBEAT_MS);

  const cancels = nc.subscribe(CANCEL_SUBJECT, {
    callback: (_err, msg) => {
      const parsed = DataPlane.CancelMessageSchema.safeParse(msg.json());
      const target = parsed.success ? cancelKeys.lookup(parsed.data.process_id, parsed.data.secret_key) : undefined;
      if (target)
        void cancelUpstream(target.uri, target.processId, target.secretKey).catch((err: Error) =>
          logger.warn(`cancel failed: ${err.message}`),
        );
    },
  });

  logger.log(`Database Service ${options.hostId} serving ${options.databases.map((d) => d.name).join(', ')} for proxies at ${addr}`);
  return {
    name: 'db',
    async close() {
      clearInterval(beat);
      await beating;
      labels.stop();
      cancels.unsubscribe();
      await Promise.all(options.databases.map((db) => bucket.delete(keyOf(db)).catch(() => undefined)));
      server.close();
      // What is not acknowledged by then stays in the spool for the next start.
      await publisher.close(5_000);
      await spool.close();
      await auth.close();
      await nc.close();
    },
  };
}
