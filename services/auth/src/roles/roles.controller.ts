import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ZodPipe } from '#libs/bus';
import { AuthRpc, Rpc } from '#libs/events';
import { RolesService } from './roles.service.js';

@Controller()
export class RolesController {
  constructor(private readonly roles: RolesService) {}

  @MessagePattern(Rpc.Auth.RolesUpsert)
  upsert(@Payload(new ZodPipe(AuthRpc.RolesUpsertRequest)) req: AuthRpc.Infer<typeof AuthRpc.RolesUpsertRequest>) {
    return this.roles.upsert(req.role, req.must_not_exist);
  }

  @MessagePattern(Rpc.Auth.RolesList)
  list(@Payload(new ZodPipe(AuthRpc.RolesListRequest)) _req: AuthRpc.Infer<typeof AuthRpc.RolesListRequest>) {
    return this.roles.list();
  }

  @MessagePattern(Rpc.Auth.RolesGet)
  get(@Payload(new ZodPipe(AuthRpc.UserNameRequest)) req: AuthRpc.Infer<typeof AuthRpc.UserNameRequest>) {
    return this.roles.get(req.name);
  }

  @MessagePattern(Rpc.Auth.RolesDelete)
  async delete(@Payload(new ZodPipe(AuthRpc.UserNameRequest)) req: AuthRpc.Infer<typeof AuthRpc.UserNameRequest>) {
    await this.roles.delete(req.name);
    return {};
  }
}
