import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { BusRequest, ZodPipe } from '#libs/bus';
import { AuthRpc, Rpc } from '#libs/events';
import { RolesService } from './roles.service.js';

@Controller()
export class RolesController {
  constructor(private readonly roles: RolesService) {}

  @BusRequest(Rpc.Auth.RolesUpsert)
  upsert(@Payload(new ZodPipe(AuthRpc.RolesUpsertRequest)) req: AuthRpc.Infer<typeof AuthRpc.RolesUpsertRequest>) {
    return this.roles.upsert(req.role, req.must_not_exist);
  }

  @BusRequest(Rpc.Auth.RolesList)
  list(@Payload(new ZodPipe(AuthRpc.RolesListRequest)) _req: AuthRpc.Infer<typeof AuthRpc.RolesListRequest>) {
    return this.roles.list();
  }

  @BusRequest(Rpc.Auth.RolesGet)
  get(@Payload(new ZodPipe(AuthRpc.UserNameRequest)) req: AuthRpc.Infer<typeof AuthRpc.UserNameRequest>) {
    return this.roles.get(req.name);
  }

  @BusRequest(Rpc.Auth.RolesDelete)
  async delete(@Payload(new ZodPipe(AuthRpc.UserNameRequest)) req: AuthRpc.Infer<typeof AuthRpc.UserNameRequest>) {
    await this.roles.delete(req.name);
    return {};
  }
}
