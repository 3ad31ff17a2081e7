import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { jetstream } from '@nats-io/jetstream';
import { connectNats, listenRpc, openDbServersBucket, type RunningService } from '#libs/bus';
import { clusterFilter, QueueGroup, Streams } from '#libs/events';
import { EventStore } from '#libs/eventstore';
import { DbsController } from './dbs.controller.js';
import { DbServersView } from './db-servers.js';
import { DbsService } from './dbs.service.js';
import { InventoryView } from './inventory.view.js';

@Module({})
class InventoryModule {
  static register(dbs: DbsService): DynamicModule {
    return { module: InventoryModule, controllers: [DbsController], providers: [{ provide: DbsService, useValue: dbs }] };
  }
}

export async function startInventory(options: { natsServers: string[] }): Promise<RunningService> {
  const nc = await connectNats(options.natsServers, 'inventory');
  const store = await EventStore.open(nc, Streams.Cluster);
  // The AUDIT stream receives db.create/update/delete; the audit service consumes it.
  await EventStore.open(nc, Streams.Audit);
  const view = new InventoryView();
  const projection = await store.follow(clusterFilter(), (subject, commit) => view.apply(subject, commit));
  const serving = await DbServersView.follow(await openDbServersBucket(nc));
  const dbs = new DbsService(store, jetstream(nc), view, projection, serving);
  const app = await listenRpc(InventoryModule.register(dbs), options.natsServers, QueueGroup.Inventory);
  new Logger('inventory').log('inventory service ready');
  return {
    name: 'inventory',
    async close() {
      await app.close();
      projection.stop();
      serving.stop();
      await nc.close();
    },
  };
}
