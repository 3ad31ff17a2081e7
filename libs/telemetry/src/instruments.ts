import {
  metrics,
  ValueType,
  type BatchObservableCallback,
  type Counter,
  type Histogram,
  type Meter,
  type Observable,
  type UpDownCounter,
} from '@opentelemetry/api';

/**
 * Every metric we export, by its OpenTelemetry name (Prometheus shows dots as underscores and counters
 * with `_total`: `dbaccess_statements_total`; the unit is in its `# UNIT` line). docs/observability.md
 * describes each; keep the two together.
 */
export const Metric = {
  SessionsStarted: 'dbaccess.sessions.started',
  SessionsActive: 'dbaccess.sessions.active',
  SessionsEnded: 'dbaccess.sessions.ended',
  SetupDuration: 'dbaccess.session.setup.duration',
  Statements: 'dbaccess.statements',
  SessionIo: 'dbaccess.session.io',
  AccessDenials: 'dbaccess.access.denials',
  AuditQueued: 'dbaccess.audit.events.queued',
  AuditPublished: 'dbaccess.audit.events.published',
  AuditPublishFailures: 'dbaccess.audit.publish.failures',
  AuditSpoolPending: 'dbaccess.audit.spool.pending',
  AuditPublishLag: 'dbaccess.audit.publish.lag',
  AuditIndexed: 'dbaccess.audit.events.indexed',
  AuditIndexLag: 'dbaccess.audit.index.lag',
  RpcClientDuration: 'rpc.client.call.duration',
  RpcServerDuration: 'rpc.server.call.duration',
  NatsConnected: 'dbaccess.nats.connected',
  NatsReconnects: 'dbaccess.nats.reconnects',
  EventLoopDelayP50: 'nodejs.eventloop.delay.p50',
  EventLoopDelayP99: 'nodejs.eventloop.delay.p99',
  EventLoopDelayMax: 'nodejs.eventloop.delay.max',
  HeapUsed: 'v8js.memory.heap.used',
  HeapLimit: 'v8js.memory.heap.limit',
  MemoryUsage: 'process.memory.usage',
  CpuTime: 'process.cpu.time',
} as const;

/** Attribute names, semantic conventions' where one fits. */
export const Attr = {
  /** The database as the cluster names it (Teleport's db_service). */
  Database: 'dbaccess.database',
  Outcome: 'dbaccess.outcome',
  /** Where an access was denied: certificate, authorize, confirm. */
  Stage: 'dbaccess.stage',
  Direction: 'network.io.direction',
  RpcSystem: 'rpc.system',
  RpcMethod: 'rpc.method',
  ErrorType: 'error.type',
  Connection: 'dbaccess.nats.connection',
} as const;

/** Request latencies from a local bus round trip to a slow database connect, in seconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The synchronous instruments, made on first use from the global meter: until telemetry starts (and
 * in processes that never start it) they are no-ops that cost a call.
 */
export class Instruments {
  readonly sessionsStarted: Counter;
  readonly sessionsActive: UpDownCounter;
  readonly sessionsEnded: Counter;
  readonly setupDuration: Histogram;
  readonly accessDenials: Counter;
  readonly rpcClientDuration: Histogram;
  readonly rpcServerDuration: Histogram;
  readonly natsReconnects: Counter;

  constructor(readonly meter: Meter) {
    const int = { valueType: ValueType.INT };
    this.sessionsStarted = meter.createCounter(Metric.SessionsStarted, {
      ...int,
      unit: '{session}',
      description: 'Database sessions that started: authorized and handed to a Database Service, or connected upstream',
    });
    this.sessionsActive = meter.createUpDownCounter(Metric.SessionsActive, {
      ...int,
      unit: '{session}',
      description: 'Database sessions open now',
    });
    this.sessionsEnded = meter.createCounter(Metric.SessionsEnded, {
      ...int,
      unit: '{session}',
      description:
        'Database sessions that ended, by outcome: closed, terminated (lock, expiry, revoked access, audit), failed (a malformed message)',
    });
    this.setupDuration = meter.createHistogram(Metric.SetupDuration, {
      unit: 's',
      description:
        "Time from a client's connection to its session being ready: at the proxy up to the handoff, at the Database Service up to the database's answer",
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    });
    this.accessDenials = meter.createCounter(Metric.AccessDenials, {
      ...int,
      unit: '{connection}',
      description: 'Connections refused for want of access, by stage: certificate, authorize (broker), confirm (Database Service)',
    });
    this.rpcClientDuration = meter.createHistogram(Metric.RpcClientDuration, {
      unit: 's',
      description: 'Requests this process made over the bus, by subject, with error.type when they failed',
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    });
    this.rpcServerDuration = meter.createHistogram(Metric.RpcServerDuration, {
      unit: 's',
      description: 'Requests this process answered over the bus, by subject, with error.type when they failed',
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    });
    this.natsReconnects = meter.createCounter(Metric.NatsReconnects, {
      ...int,
      unit: '{reconnect}',
      description: 'Times a bus connection was restored after it was lost',
    });
  }
}

let current: Instruments | undefined;

export function instruments(): Instruments {
  return (current ??= new Instruments(metrics.getMeter('dbaccess')));
}

/** Calls `observe` for `observables` at every collection, until what it returns is called. */
export function observeBatch(observables: Observable[], observe: BatchObservableCallback): () => void {
  const meter = instruments().meter;
  meter.addBatchObservableCallback(observe, observables);
  return () => meter.removeBatchObservableCallback(observe, observables);
}

/** Telemetry started: instruments are made again from its meter. */
export function resetInstruments(): void {
  current = undefined;
}

/**
 * Data-path counts, kept as plain numbers the hot path only adds to; read when metrics are collected
 * (observable counters), so a statement or a chunk costs an addition, not a metrics call.
 */
export interface DataPathCounts {
  statements: number;
  bytesFromClient: number;
  bytesToClient: number;
}

const dataPath = new Map<string, DataPathCounts>();

/** The counts of one database, shared by its sessions. */
export function dataPathCounts(database: string): DataPathCounts {
  let counts = dataPath.get(database);
  if (!counts) dataPath.set(database, (counts = { statements: 0, bytesFromClient: 0, bytesToClient: 0 }));
  return counts;
}

export function allDataPathCounts(): ReadonlyMap<string, DataPathCounts> {
  return dataPath;
}

/** Seconds since `start` (a performance.now() reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
