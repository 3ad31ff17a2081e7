import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ZodPipe } from '#libs/bus';
import { AuthRpc, Rpc } from '#libs/events';
import { LocksService } from './locks.service.js';

@Controller()
export class LocksController {
  constructor(private readonly locks: LocksService) {}

  @MessagePattern(Rpc.Auth.LocksUpsert)
  upsert(@Payload(new ZodPipe(AuthRpc.LocksUpsertRequest)) req: AuthRpc.Infer<typeof AuthRpc.LocksUpsertRequest>) {
    return this.locks.upsert(req.actor, req.lock, req.must_not_exist);
  }

  @MessagePattern(Rpc.Auth.LocksList)
  list(@Payload(new ZodPipe(AuthRpc.LocksListRequest)) _req: AuthRpc.Infer<typeof AuthRpc.LocksListRequest>) {
    return this.locks.list();
  }

  @MessagePattern(Rpc.Auth.LocksGet)
  get(@Payload(new ZodPipe(AuthRpc.LockNameRequest)) req: AuthRpc.Infer<typeof AuthRpc.LockNameRequest>) {
    return this.locks.get(req.name);
  }

  @MessagePattern(Rpc.Auth.LocksDelete)
  async delete(@Payload(new ZodPipe(AuthRpc.LocksDeleteRequest)) req: AuthRpc.Infer<typeof AuthRpc.LocksDeleteRequest>) {
    await this.locks.delete(req.actor, req.name);
    return {};
  }
}
