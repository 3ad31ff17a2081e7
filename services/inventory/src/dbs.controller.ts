import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { BusRequest, ZodPipe } from '#libs/bus';
import { AuthRpc, DataPlane, InventoryRpc, Rpc } from '#libs/events';
import type { z } from 'zod';
import { DbsService } from './dbs.service.js';

@Controller()
export class DbsController {
  constructor(private readonly dbs: DbsService) {}

  @BusRequest(Rpc.Inventory.Ping)
  ping(@Payload(new ZodPipe(AuthRpc.PingRequest)) _req: z.infer<typeof AuthRpc.PingRequest>) {
    return {};
  }

  @BusRequest(Rpc.Inventory.DbsUpsert)
  upsert(@Payload(new ZodPipe(InventoryRpc.DbsUpsertRequest)) req: z.infer<typeof InventoryRpc.DbsUpsertRequest>) {
    return this.dbs.upsert(this.dbs.caller(req.caller_cert), req.resource, req.must_not_exist);
  }

  @BusRequest(Rpc.Inventory.DbsList)
  list(@Payload(new ZodPipe(InventoryRpc.DbsListRequest)) _req: z.infer<typeof InventoryRpc.DbsListRequest>) {
    return this.dbs.list();
  }

  @BusRequest(Rpc.Inventory.DbsGet)
  get(@Payload(new ZodPipe(InventoryRpc.DbNameRequest)) req: z.infer<typeof InventoryRpc.DbNameRequest>) {
    return this.dbs.get(req.name);
  }

  @BusRequest(Rpc.Inventory.DbsDelete)
  async delete(@Payload(new ZodPipe(InventoryRpc.DbsDeleteRequest)) req: z.infer<typeof InventoryRpc.DbsDeleteRequest>) {
    await this.dbs.delete(this.dbs.caller(req.caller_cert), req.name);
    return {};
  }

  @BusRequest(Rpc.Inventory.DbsMatching)
  matching(@Payload(new ZodPipe(InventoryRpc.DbsMatchingRequest)) req: z.infer<typeof InventoryRpc.DbsMatchingRequest>) {
    return this.dbs.matching(req.selectors);
  }

  @BusRequest(Rpc.Inventory.DbServers)
  servers(@Payload(new ZodPipe(DataPlane.DbServersRequest)) req: z.infer<typeof DataPlane.DbServersRequest>) {
    return this.dbs.serversOf(req.name);
  }
}
