import { Controller, Logger, Module, type DynamicModule } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { jetstream } from '@nats-io/jetstream';
import type { z } from 'zod';
import { connectNats, listenRpc, RpcClient, ZodPipe, type RunningService } from '#libs/bus';
import { clusterFilter, DataPlane, QueueGroup, Rpc, Streams } from '#libs/events';
import { EventStore } from '#libs/eventstore';
import { BrokerView } from './broker.view.js';
import { SessionsService } from './sessions.service.js';

@Controller()
class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @MessagePattern(Rpc.Broker.Authorize)
  authorize(@Payload(new ZodPipe(DataPlane.AuthorizeRequest)) req: z.infer<typeof DataPlane.AuthorizeRequest>) {
    return this.sessions.authorize(req);
  }
}

@Module({})
class BrokerModule {
  static register(sessions: SessionsService): DynamicModule {
    return { module: BrokerModule, controllers: [SessionsController], providers: [{ provide: SessionsService, useValue: sessions }] };
  }
}

export async function startBroker(options: { natsServers: string[] }): Promise<RunningService> {
  const nc = await connectNats(options.natsServers, 'broker');
  const store = await EventStore.open(nc, Streams.Cluster);
  await EventStore.open(nc, Streams.Audit);
  const view = new BrokerView();
  const projection = await store.follow(clusterFilter(), (subject, commit) => view.apply(subject, commit));
  const inventory = new RpcClient(options.natsServers, 'broker-inventory');
  const sessions = new SessionsService(view, projection, inventory, jetstream(nc));
  const app = await listenRpc(BrokerModule.register(sessions), options.natsServers, QueueGroup.Broker);
  new Logger('broker').log('session broker ready');
  return {
    name: 'broker',
    async close() {
      await app.close();
      projection.stop();
      await inventory.close();
      await nc.close();
    },
  };
}
