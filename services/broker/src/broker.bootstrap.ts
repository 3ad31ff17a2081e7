import { Controller, Logger, Module, type DynamicModule } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { z } from 'zod';
import {
  BusRequest,
  connectNats,
  KvIndex,
  listenRpc,
  openBucket,
  RpcClient,
  Sender,
  ZodPipe,
  type BusAccess,
  type BusIdentity,
  watchPeers,
  type RunningService,
} from '#libs/bus';
import { AuthRpc, Buckets, clusterFilter, DataPlane, QueueGroup, Rpc, Streams } from '#libs/events';
import { EventStore } from '#libs/eventstore';
import { ServedDbSchema } from '#services/inventory';
import { BrokerView } from './broker.view.js';
import { SessionRegistry } from './registry.js';
import { SessionsService } from './sessions.service.js';

type Infer<T extends z.ZodType> = z.infer<T>;

/** Live sessions of Database Services that stopped heartbeating are forgotten this often. */
const PRUNE_MS = 15_000;
/** Changes to roles and users are re-checked against live sessions after this quiet period. */
const REVOKE_DEBOUNCE_MS = 200;

@Controller()
class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @BusRequest(Rpc.Broker.Ping)
  ping(@Payload(new ZodPipe(AuthRpc.PingRequest)) _req: Infer<typeof AuthRpc.PingRequest>) {
    return {};
  }

  @BusRequest(Rpc.Broker.Authorize)
  authorize(@Payload(new ZodPipe(DataPlane.AuthorizeRequest)) req: Infer<typeof DataPlane.AuthorizeRequest>) {
    return this.sessions.authorize(req);
  }

  @BusRequest(Rpc.Broker.SessionsStart)
  start(
    @Sender() sender: BusIdentity,
    @Payload(new ZodPipe(DataPlane.SessionsStartRequest)) req: Infer<typeof DataPlane.SessionsStartRequest>,
  ) {
    return this.sessions.start(sender, req);
  }

  @BusRequest(Rpc.Broker.SessionsEnd)
  end(@Sender() sender: BusIdentity, @Payload(new ZodPipe(DataPlane.SessionsEndRequest)) req: Infer<typeof DataPlane.SessionsEndRequest>) {
    return this.sessions.end(sender, req);
  }

  @BusRequest(Rpc.Broker.SessionsGet)
  get(@Sender() sender: BusIdentity, @Payload(new ZodPipe(DataPlane.SessionsGetRequest)) req: Infer<typeof DataPlane.SessionsGetRequest>) {
    return this.sessions.get(sender, req.sid);
  }

  @BusRequest(Rpc.Broker.Cancel)
  cancel(@Payload(new ZodPipe(DataPlane.CancelRequest)) req: Infer<typeof DataPlane.CancelRequest>) {
    return this.sessions.cancel(req);
  }
}

@Module({})
class BrokerModule {
  static register(sessions: SessionsService): DynamicModule {
    return { module: BrokerModule, controllers: [SessionsController], providers: [{ provide: SessionsService, useValue: sessions }] };
  }
}

export async function startBroker(options: { bus: BusAccess }): Promise<RunningService> {
  const nc = await connectNats(options.bus, 'broker');
  const store = await EventStore.open(nc, Streams.Cluster);
  const view = new BrokerView();
  const projection = await store.follow(clusterFilter(), (subject, commit) => view.apply(subject, commit));
  const registry = await SessionRegistry.open(await openBucket(nc, Buckets.Sessions));
  const dbServers = await KvIndex.follow(await openBucket(nc, Buckets.DbServers), ServedDbSchema, 'Database Services');
  const inventory = new RpcClient(nc, options.bus.credentials.identity);
  const unwatchPeers = watchPeers(inventory, [Rpc.Inventory.Ping]);
  const sessions = new SessionsService(view, projection, inventory, dbServers, jetstream(nc), await jetstreamManager(nc), nc, registry);

  let revoking: NodeJS.Timeout | undefined;
  view.onChange = () => {
    clearTimeout(revoking);
    revoking = setTimeout(() => sessions.revoke(), REVOKE_DEBOUNCE_MS);
  };
  const prune = setInterval(() => {
    const alive = new Set(dbServers.values().map((s) => s.host_id));
    void sessions.forgetUnless(alive).catch((err: Error) => new Logger('broker').warn(`pruning sessions failed: ${err.message}`));
  }, PRUNE_MS);
  prune.unref();

  const app = await listenRpc(BrokerModule.register(sessions), nc, QueueGroup.Broker);
  new Logger('broker').log('session broker ready');
  return {
    name: 'broker',
    async close() {
      unwatchPeers();
      clearInterval(prune);
      clearTimeout(revoking);
      await app.close();
      projection.stop();
      registry.stop();
      dbServers.stop();
      await nc.close();
    },
  };
}
