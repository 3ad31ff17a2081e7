import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ZodPipe } from '#libs/bus';
import { DataPlane, InventoryRpc, Rpc } from '#libs/events';
import type { z } from 'zod';
import { DbsService } from './dbs.service.js';

@Controller()
export class DbsController {
  constructor(private readonly dbs: DbsService) {}

  @MessagePattern(Rpc.Inventory.DbsUpsert)
  upsert(@Payload(new ZodPipe(InventoryRpc.DbsUpsertRequest)) req: z.infer<typeof InventoryRpc.DbsUpsertRequest>) {
    return this.dbs.upsert(req.actor, req.resource, req.must_not_exist);
  }

  @MessagePattern(Rpc.Inventory.DbsList)
  list(@Payload(new ZodPipe(InventoryRpc.DbsListRequest)) _req: z.infer<typeof InventoryRpc.DbsListRequest>) {
    return this.dbs.list();
  }

  @MessagePattern(Rpc.Inventory.DbsGet)
  get(@Payload(new ZodPipe(InventoryRpc.DbNameRequest)) req: z.infer<typeof InventoryRpc.DbNameRequest>) {
    return this.dbs.get(req.name);
  }

  @MessagePattern(Rpc.Inventory.DbsDelete)
  async delete(@Payload(new ZodPipe(InventoryRpc.DbsDeleteRequest)) req: z.infer<typeof InventoryRpc.DbsDeleteRequest>) {
    await this.dbs.delete(req.actor, req.name);
    return {};
  }

  @MessagePattern(Rpc.Inventory.DbServers)
  servers(@Payload(new ZodPipe(DataPlane.DbServersRequest)) req: z.infer<typeof DataPlane.DbServersRequest>) {
    return this.dbs.serversOf(req.name);
  }
}
