import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { jetstream } from '@nats-io/jetstream';
import { connectNats, KvIndex, listenRpc, openBucket, type BusAccess, type RunningService } from '#libs/bus';
import { Buckets, clusterFilter, QueueGroup, Streams } from '#libs/events';
import { EventStore } from '#libs/eventstore';
import { DbsController } from './dbs.controller.js';
import { ServedDbSchema } from './served-db.js';
import { DbsService } from './dbs.service.js';
import { InventoryView } from './inventory.view.js';

@Module({})
class InventoryModule {
  static register(dbs: DbsService): DynamicModule {
    return { module: InventoryModule, controllers: [DbsController], providers: [{ provide: DbsService, useValue: dbs }] };
  }
}

export async function startInventory(options: { bus: BusAccess }): Promise<RunningService> {
  const nc = await connectNats(options.bus, 'inventory');
  const store = await EventStore.open(nc, Streams.Cluster);
  const view = new InventoryView();
  const projection = await store.follow(clusterFilter(), (subject, commit) => view.apply(subject, commit));
  const serving = await KvIndex.follow(await openBucket(nc, Buckets.DbServers), ServedDbSchema, 'Database Services');
  const dbs = new DbsService(store, jetstream(nc), view, projection, serving);
  const app = await listenRpc(InventoryModule.register(dbs), nc, QueueGroup.Inventory);
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
