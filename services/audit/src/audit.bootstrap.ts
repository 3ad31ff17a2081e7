import { join } from 'node:path';
import { Controller, Logger, Module, type DynamicModule } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { BusRequest, connectNats, listenRpc, ZodPipe, type BusAccess, type RunningService } from '#libs/bus';
import { NotFoundError } from '#libs/common';
import { AuditRpc, QueueGroup, Rpc, Streams } from '#libs/events';
import { EventStore } from '#libs/eventstore';
import { AuditStore } from './audit-store.js';
import { AuditIndexer } from './indexer.js';
import { IndexWriter } from './index-writer.js';

const NANOS_PER_MS = 1_000_000;

type Infer<T extends import('zod').ZodType> = import('zod').infer<T>;

@Controller()
class AuditController {
  constructor(private readonly store: AuditStore) {}

  @BusRequest(Rpc.Audit.SessionsList)
  list(@Payload(new ZodPipe(AuditRpc.SessionsListRequest)) req: Infer<typeof AuditRpc.SessionsListRequest>) {
    return this.store.listSessions(req);
  }

  @BusRequest(Rpc.Audit.SessionsGet)
  get(@Payload(new ZodPipe(AuditRpc.SessionGetRequest)) req: Infer<typeof AuditRpc.SessionGetRequest>) {
    const session = this.store.getSession(req.sid);
    if (!session) throw new NotFoundError(`session ${req.sid} not found`);
    return session;
  }

  @BusRequest(Rpc.Audit.SessionEvents)
  events(@Payload(new ZodPipe(AuditRpc.SessionEventsRequest)) req: Infer<typeof AuditRpc.SessionEventsRequest>) {
    return this.store.sessionEvents(req.sid, req.after_ei, req.limit);
  }

  @BusRequest(Rpc.Audit.EventsSearch)
  search(@Payload(new ZodPipe(AuditRpc.EventsSearchRequest)) req: Infer<typeof AuditRpc.EventsSearchRequest>) {
    return this.store.searchEvents(req);
  }
}

@Module({})
class AuditModule {
  static register(store: AuditStore): DynamicModule {
    return { module: AuditModule, controllers: [AuditController], providers: [{ provide: AuditStore, useValue: store }] };
  }
}

export interface AuditOptions {
  /** Answers searches: the audit role. */
  bus: BusAccess;
  /** Reads the AUDIT stream into the index: the audit-index role, which may not respond to requests. */
  indexBus: BusAccess;
  dataDir: string;
  hostId: string;
  retentionMs: number;
  maxBytes: number;
}

/** The AUDIT stream keeps what the index keeps: the same age limit and size limit. */
async function limitStream(jsm: JetStreamManager, retentionMs: number, maxBytes: number): Promise<void> {
  const info = await jsm.streams.info(Streams.Audit.name);
  const maxAge = retentionMs * NANOS_PER_MS;
  if (info.config.max_age === maxAge && info.config.max_bytes === maxBytes) return;
  await jsm.streams.update(Streams.Audit.name, { ...info.config, max_age: maxAge, max_bytes: maxBytes });
}

/**
 * The audit service: indexes every event of the AUDIT stream into `<data_dir>/audit/index.sqlite`
 * and answers searches over NATS. Each replica keeps its own index through its own durable consumer.
 * It runs on a thread of its own (see audit-thread.ts): SQLite is synchronous.
 */
export async function runAuditService(options: AuditOptions): Promise<RunningService & { progress: AuditIndexer['progress'] }> {
  const logger = new Logger('audit');
  const path = join(options.dataDir, 'audit', 'index.sqlite');
  // Writing (and retention) on a thread of its own, started while NATS is reached; searches read
  // through a connection of this thread.
  const writing = IndexWriter.start({ path, retentionMs: options.retentionMs, maxBytes: options.maxBytes }, (code) => {
    logger.error(`the index writer stopped (exit code ${code}); restarting the audit service`);
    // On the audit service's thread (audit.worker.ts) this ends the thread, which audit-thread.ts starts again.
    process.exit(1);
  });
  writing.catch(() => undefined);
  const indexNc = await connectNats(options.indexBus, 'audit-index');
  await EventStore.open(indexNc, Streams.Audit);
  const jsm = await jetstreamManager(indexNc);
  await limitStream(jsm, options.retentionMs, options.maxBytes);
  const writer = await writing;
  const reader = new AuditStore(path, { reader: true });
  const indexer = new AuditIndexer(jetstream(indexNc), jsm, writer, `audit-index-${options.hostId}`);
  await indexer.start();
  const nc = await connectNats(options.bus, 'audit');
  const app = await listenRpc(AuditModule.register(reader), nc, QueueGroup.Audit);
  logger.log(`audit service indexing from sequence ${writer.lastSequence + 1} into ${path}`);
  return {
    name: 'audit',
    progress: indexer.progress,
    async close() {
      await app.close();
      await indexer.stop();
      await writer.close();
      reader.close();
      await Promise.all([nc.close(), indexNc.close()]);
    },
  };
}
