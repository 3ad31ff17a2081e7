import type { Socket } from 'node:net';
import { join } from 'node:path';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Logger } from '@nestjs/common';
import {
  BusCredentials,
  busIdentity,
  BusRole,
  busSigner,
  connectNats,
  loadBusKeys,
  loadOrCreateBusKeys,
  observeBusHealth,
  RpcClient,
  ServiceLogger,
  type BusAccess,
  type BusKeys,
  type BusSigner,
  type RunningService,
} from '#libs/bus';
import { BadParameterError, VERSION } from '#libs/common';
import { dbWorkerDataDir, dbWorkerNumbers, hostUuid, loadConfig, MAX_WORKERS, type Config } from '#libs/config';
import { startAudit } from '#services/audit';
import { Rpc, type AuthRpc } from '#libs/events';
import { loadKek, startAuth } from '#services/auth';
import { startBroker } from '#services/broker';
import { startDatabaseService, startProvisioningService } from '#services/db';
import { joinCluster, JoinedProcess } from '#libs/join';
import { startInventory } from '#services/inventory';
import { receivedConnection, startProxy, type ToProxyWorker } from '#services/proxy';
import { startTelemetry } from '#libs/telemetry';
import { list } from '../shared/run.js';
import { addDbFlags, databaseFromFlags, type DbFlags } from './db.js';
import { startWorkers, type WorkerRole } from './workers.js';
import { DiagServer } from './diag.js';
import { startEmbeddedNats } from './embedded-nats.js';

/**
 * Teleport's role names and the services each runs. `auth` is the whole control plane (audit unless
 * disabled); `auth-only` the auth service alone, for a process per service (docker-compose.yml).
 */
const ROLE_SERVICES: Record<string, string[]> = {
  auth: ['auth', 'inventory', 'broker', 'audit'],
  'auth-only': ['auth'],
  proxy: ['proxy'],
  db: ['db'],
  inventory: ['inventory'],
  broker: ['broker'],
  audit: ['audit'],
  provisioning: ['provisioning'],
};

/** Runs the services of `roles` in this process until SIGINT or SIGTERM. */
export async function runServices(
  config: Config,
  roles: string[],
  extra: {
    caPin?: string;
    rejoin?: boolean;
    pidFile?: string;
    diagAddr?: string;
    debug?: boolean;
    /** This process is worker N of a Database Service or proxy, started by another (workers.ts): it starts none itself. */
    worker?: { role: WorkerRole; n: number };
  } = {},
): Promise<void> {
  const logger = new Logger('teleport');
  const unknown = roles.filter((r) => !ROLE_SERVICES[r]);
  if (unknown.length) throw new BadParameterError(`unknown role ${unknown.join(', ')}: use ${Object.keys(ROLE_SERVICES).join(', ')}`);
  if (!roles.length) throw new BadParameterError('nothing to run: enable auth_service, proxy_service or db_service, or pass --roles');
  const services = new Set(roles.flatMap((r) => ROLE_SERVICES[r]!));
  if (!config.audit.enabled && !roles.includes('audit')) services.delete('audit');

  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const hostId = hostUuid(config.dataDir);
  ServiceLogger.setHostId(hostId);
  logger.debug(
    `config ${config.file ?? '(none: defaults)'}, data dir ${config.dataDir}, host id ${hostId}, ` +
      `services ${[...services].join(', ')}, NATS ${config.nats.servers.join(', ')}${config.nats.embedded ? ' (embedded)' : ''}`,
  );
  const running: RunningService[] = [];
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: stopping`);
    setTimeout(() => {
      logger.error('services did not stop within 10s; exiting');
      process.exit(1);
    }, 10_000).unref();
    for (const service of running.reverse()) await service.close().catch((err: Error) => logger.error(`${service.name}: ${err.message}`));
    if (extra.pidFile) rmSync(extra.pidFile, { force: true });
    process.exit(0);
  };
  // For systemd's PIDFile= (teleport install systemd).
  if (extra.pidFile) writeFileSync(extra.pidFile, `${process.pid}\n`);
  // Metrics when there is a listener to scrape; traces when OTEL_EXPORTER_OTLP_ENDPOINT says where.
  // Stopped last, so the spans of the services' last moments go out.
  // A worker's metrics would need a port of their own: the first worker serves diagnostics alone.
  const diagAddr = extra.worker ? undefined : (extra.diagAddr ?? config.diagAddr);
  const telemetry = startTelemetry({ serviceName: `dbaccess-${roles.join('-')}`, hostId, version: VERSION, metrics: Boolean(diagAddr) });
  running.push({ name: 'telemetry', close: () => telemetry.shutdown() });
  if (telemetry.tracing)
    logger.log(`exporting traces to ${process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT}`);
  if (diagAddr) observeBusHealth();
  // Health checks, probes and scrapes: live at once, ready once everything below has started.
  const diag = diagAddr ? await DiagServer.start(diagAddr, telemetry.metricsText!) : undefined;
  if (diag) running.push({ name: 'diagnostics', close: () => diag.close() });
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  // Control-plane processes get their bus credentials from the bus keys on this host; a proxy on a host
  // of its own and a Database Service get them by joining through a proxy with a token.
  const controlPlaneHere = ['auth', 'inventory', 'broker', 'audit', 'proxy'].some((s) => services.has(s));
  const joiningProxy = controlPlaneHere && services.size === 1 && services.has('proxy') && !existsSync(config.nats.keysFile);
  const natsServers = config.nats.servers;
  let signer: BusSigner | undefined;
  let joinedProxy: JoinedProcess | undefined;
  if (joiningProxy) {
    const joined = await joinCluster({
      role: 'Proxy',
      proxyAddr: config.proxyAddr,
      ...joinFlags(config, extra),
      hostId,
      dataDir: config.dataDir,
    });
    // A proxy's workers share the first process's identity: the first keeps it renewed on disk.
    joinedProxy = new JoinedProcess(joined, 'Proxy', hostId, config.dataDir, { persist: !extra.worker });
  } else if (controlPlaneHere) {
    const kek = loadKek(config.auth.kek, services.has('auth'));
    const keys = controlPlaneBusKeys(config, kek);
    signer = busSigner(keys);
    if (config.nats.embedded && !extra.worker) {
      const nats = await startEmbeddedNats(config, keys, (line) => logger.log(line));
      running.push({ name: 'nats-server', close: () => nats.stop() });
    }
  }
  const bus = async (role: BusRole): Promise<BusAccess> => ({
    servers: natsServers,
    credentials: joinedProxy?.credentials ?? (await BusCredentials.local(signer!, busIdentity(role, hostId))),
  });
  if (services.has('auth')) {
    const kek = loadKek(config.auth.kek, true);
    running.push(
      await startAuth({
        bus: await bus(BusRole.Auth),
        busSigner: signer!,
        clusterName: config.auth.clusterName,
        dataDir: config.dataDir,
        kek,
        staticTokens: config.auth.staticTokens(),
        replicas: config.nats.replicas,
        ...(config.auth.listenAddr ? { joinListenAddr: config.auth.listenAddr } : {}),
      }),
    );
  }
  if (services.has('inventory')) running.push(await startInventory({ bus: await bus(BusRole.Inventory) }));
  if (services.has('broker')) running.push(await startBroker({ bus: await bus(BusRole.Broker) }));
  if (services.has('audit'))
    running.push(
      await startAudit({
        bus: await bus(BusRole.Audit),
        indexBus: await bus(BusRole.AuditIndex),
        dataDir: config.dataDir,
        hostId,
        retentionMs: config.audit.retentionMs,
        maxBytes: config.audit.maxBytes,
      }),
    );
  if (services.has('proxy')) {
    // proxy_service.workers: the others first, so the first can hand them connections from its first.
    const proxyWorkers =
      !extra.worker && config.proxy.workers > 1
        ? await startWorkers('proxy', config.proxy.workers, config, {
            ...(extra.caPin ? { caPin: extra.caPin } : {}),
            ...(extra.debug ? { debug: true } : {}),
          })
        : undefined;
    const proxy = await startProxy({
      bus: await bus(BusRole.Proxy),
      natsServers,
      webListenAddr: config.proxy.webListenAddr,
      publicAddrs: config.proxy.publicAddrs,
      ...(config.proxy.tunnelAddr ? { tunnelAddr: config.proxy.tunnelAddr } : {}),
      hostId,
      ...(joinedProxy ? { onConnected: (rpc: RpcClient) => joinedProxy.startRenewal(rpc) } : {}),
      connectionLimits: config.proxy.connectionLimits,
      httpsKeyPairs: config.proxy.httpsKeyPairs,
      ...(config.proxy.acme ? { acme: { ...config.proxy.acme, dir: join(config.dataDir, 'acme') } } : {}),
      ...(proxyWorkers ? { workers: { count: config.proxy.workers, serving: (n: number) => proxyWorkers.serving(n) } } : {}),
      ...(extra.worker ? { worker: true } : {}),
    }).catch(async (err: Error) => {
      await proxyWorkers?.close();
      throw err;
    });
    running.push(proxy);
    // Stopped before the first: its listener's close waits for the connections it handed them.
    if (proxyWorkers) running.push(proxyWorkers);
    if (extra.worker) {
      process.on('message', (message: ToProxyWorker, socket?: Socket) => {
        if (message?.type === 'connection' && socket) proxy.accept(receivedConnection(message, socket));
      });
      logger.log(`worker ${extra.worker.n} of the proxy is up`);
    } else {
      const { port } = proxy.address();
      logger.log(`the cluster is up; web API and Postgres at ${config.proxy.publicAddrs[0] ?? `localhost:${port}`}`);
    }
  }
  if (services.has('db')) {
    // In one process with auth, the Database Service joins with a token it asks its own auth for.
    if (services.has('auth') && !config.authToken) config.authToken = await localJoinToken(await bus(BusRole.Admin));
    // Workers beyond db_service.workers (it was lowered) run no more: the first sends what their spools hold.
    const leftSpools = extra.worker
      ? []
      : dbWorkerNumbers(config.dataDir)
          .filter((n) => n > config.db.workers)
          .map((n) => join(dbWorkerDataDir(config.dataDir, n), 'audit-spool'))
          .filter((dir) => existsSync(dir));
    running.push(
      await startDatabaseService({
        proxyAddr: config.proxyAddr,
        ...joinFlags(config, extra),
        dataDir: config.dataDir,
        hostId,
        databases: config.db.databases,
        resourceSelectors: config.db.resourceSelectors,
        provisioning: config.provisioning.enabled,
        auditSpoolMaxBytes: config.db.auditSpoolMaxBytes,
        leftSpools,
      }),
    );
    if (!extra.worker && config.db.workers > 1)
      running.push(
        await startWorkers('db', config.db.workers, config, {
          ...(extra.caPin ? { caPin: extra.caPin } : {}),
          ...(extra.rejoin ? { rejoin: true } : {}),
          ...(extra.debug ? { debug: true } : {}),
        }),
      );
    logger.log(extra.worker ? `worker ${extra.worker.n} of the Database Service is up` : 'the Database Service is up');
  }
  // Beside a Database Service, provisioning is already its job (unless the file says otherwise).
  if (services.has('provisioning') && !services.has('db')) {
    const localKeys = signer !== undefined || existsSync(config.nats.keysFile);
    if (localKeys && !signer) signer = busSigner(loadBusKeys(config.nats.keysFile, loadKek(config.auth.kek, false)));
    running.push(
      await startProvisioningService({
        hostId,
        databases: config.db.databases,
        bus: localKeys
          ? { servers: natsServers, credentials: await BusCredentials.local(signer!, busIdentity(BusRole.Provisioning, hostId)) }
          : { proxyAddr: config.proxyAddr, ...joinFlags(config, extra), hostId, dataDir: config.dataDir },
      }),
    );
  }
  diag?.started();
}

/** The process's logger as teleport.log says, --debug adding the debug lines. */
export function serviceLogger(config: Config, debug: boolean | undefined): ServiceLogger {
  return new ServiceLogger({ ...config.log, ...(debug ? { severity: 'debug' as const } : {}) });
}

/** `--workers`: a whole number of processes, 1 to MAX_WORKERS. */
export function parseWorkers(text: string): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text.trim()) || n < 1 || n > MAX_WORKERS)
    throw new BadParameterError(`--workers ${text}: give a whole number of processes from 1 to ${MAX_WORKERS}`);
  return n;
}

/** The token and options a process joins with. */
function joinFlags(config: Config, extra: { caPin?: string; rejoin?: boolean }) {
  return {
    ...(config.authToken ? { token: config.authToken } : {}),
    ...(extra.caPin ? { caPin: extra.caPin } : {}),
    ...(extra.rejoin ? { rejoin: true } : {}),
  };
}

/**
 * The bus keys of a control-plane host: made on first start with the embedded NATS; with an external
 * NATS they must come from `teleport nats configure`, which wrote that server's configuration.
 */
function controlPlaneBusKeys(config: Config, kek: Buffer): BusKeys {
  const path = config.nats.keysFile;
  if (config.nats.embedded) return loadOrCreateBusKeys(path, kek);
  if (!existsSync(path)) {
    throw new BadParameterError(
      `teleport.nats.servers points at an external NATS, but ${path} does not exist: on the auth host, run 'teleport nats configure -c ${config.file ?? '<teleport.yaml>'} -o nats-server.conf' and start nats-server with that file; a proxy on a host of its own joins with --token (tctl tokens add --type=proxy) and --auth-server`,
    );
  }
  return loadBusKeys(path, kek);
}

/** A short-lived single-purpose join token from the auth service running in this process. */
async function localJoinToken(bus: BusAccess): Promise<string> {
  const nc = await connectNats(bus, 'teleport-start-join');
  try {
    const rpc = new RpcClient(nc, bus.credentials.identity);
    return (await rpc.call<AuthRpc.TokenView>(Rpc.Auth.TokensCreate, { roles: ['Db'], ttl_ms: 5 * 60_000 })).token;
  } finally {
    await nc.close();
  }
}

interface StartFlags {
  config?: string;
  roles?: string;
  token?: string;
  authServer?: string;
  labels?: string;
  dbName?: string;
  dbDescription?: string;
  dbProtocol?: string;
  dbUri?: string;
  dbCaCertFile?: string;
  dbAwsRegion?: string;
  rejoin?: boolean;
  pidFile?: string;
  diagAddr?: string;
  debug?: boolean;
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('Start cluster services: by default those the config enables, in this process')
    .option('-c, --config <file>', 'teleport.yaml (default /etc/teleport.yaml when it exists)')
    .option(
      '--roles <roles>',
      'comma-separated roles to run: auth, proxy, db (also auth-only, inventory, broker, audit, provisioning alone)',
    )
    .option('--token <token>', 'join token (or a file holding it), for a Database Service or a proxy on a host of its own')
    .option('--auth-server <addr>', 'the cluster proxy to join through, host:port')
    .option('--rejoin', 'discard the joined identity in the data dir and join again with --token')
    .option('--db-name <name>', 'serve one database: its name, as users see it')
    .option('--db-description <text>', "the database's description")
    .option('--db-protocol <protocol>', 'postgres')
    .option('--db-uri <host:port>', 'where the database listens')
    .option('--db-ca-cert-file <file>', "CA that signs the database's certificate (for RDS and Aurora: the RDS CA bundle)")
    .option('--db-aws-region <region>', 'AWS region of an RDS or Aurora database (IAM authentication)')
    .option('--labels <k=v,...>', "the database's static labels")
    .option('--pid-file <file>', 'write the process id there (removed at exit)')
    .option('--diag-addr <host:port>', 'serve /healthz, /readyz and /metrics there (HTTP) for health checks and Prometheus')
    .option('-d, --debug', 'verbose logs')
    .action(async (opts: StartFlags) => {
      const config = loadConfig(opts.config);
      Logger.overrideLogger(serviceLogger(config, opts.debug));
      if (opts.token) config.authToken = opts.token;
      if (opts.authServer) config.proxyAddr = opts.authServer;
      if (opts.dbName || opts.dbUri) {
        const db = databaseFromFlags(
          {
            name: opts.dbName,
            description: opts.dbDescription,
            protocol: opts.dbProtocol,
            uri: opts.dbUri,
            labels: opts.labels,
            caCertFile: opts.dbCaCertFile,
            awsRegion: opts.dbAwsRegion,
          },
          'db-',
        );
        config.db.databases = [...config.db.databases, db];
        config.db.enabled = true;
      }
      const roles = opts.roles
        ? list(opts.roles)
        : [...(config.auth.enabled ? ['auth'] : []), ...(config.proxy.enabled ? ['proxy'] : []), ...(config.db.enabled ? ['db'] : [])];
      await runServices(config, roles, {
        ...(opts.debug ? { debug: true } : {}),
        ...(opts.rejoin ? { rejoin: true } : {}),
        ...(opts.pidFile ? { pidFile: opts.pidFile } : {}),
        ...(opts.diagAddr ? { diagAddr: opts.diagAddr } : {}),
      });
    });
}

export function registerDbStartCommand(db: Command): void {
  addDbFlags(db.command('start').description('Start a Database Service for one database, without a config file'))
    .option('-c, --config <file>', 'teleport.yaml to start from (flags add a database to it)')
    .option('--data-dir <dir>', 'where the joined identity and the audit spool are kept')
    .option('--rejoin', 'discard the identity in the data dir and join again with --token')
    .option('--diag-addr <host:port>', 'serve /healthz, /readyz and /metrics there (HTTP) for health checks and Prometheus')
    .option('--workers <n>', `processes serving the databases, one core each (1-${MAX_WORKERS}; default: half the cores, at most 8)`)
    .option('-d, --debug', 'verbose logs')
    .action(async (flags: DbFlags & { config?: string; debug?: boolean; rejoin?: boolean; diagAddr?: string; workers?: string }) => {
      const config = loadConfig(flags.config);
      Logger.overrideLogger(serviceLogger(config, flags.debug));
      const proxy = flags.proxy ?? flags.authServer;
      if (proxy) config.proxyAddr = proxy;
      else if (!flags.config) throw new BadParameterError('--proxy is required: the address of the cluster proxy');
      if (flags.token) config.authToken = flags.token;
      if (flags.dataDir) config.dataDir = flags.dataDir;
      if (flags.name) config.db.databases = [...config.db.databases, databaseFromFlags(flags)];
      if (flags.workers !== undefined) config.db.workers = parseWorkers(flags.workers);
      await runServices(config, ['db'], {
        ...(flags.caPin ? { caPin: flags.caPin } : {}),
        ...(flags.rejoin ? { rejoin: true } : {}),
        ...(flags.diagAddr ? { diagAddr: flags.diagAddr } : {}),
        ...(flags.debug ? { debug: true } : {}),
      });
    });
}
