import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { BusRequest, ZodPipe } from '#libs/bus';
import { AuthRpc, Rpc } from '#libs/events';
import { CertAuthorities } from '../cas/cert-authorities.js';
import { LocksService } from './locks.service.js';

@Controller()
export class LocksController {
  constructor(
    private readonly locks: LocksService,
    private readonly cas: CertAuthorities,
  ) {}

  @BusRequest(Rpc.Auth.LocksUpsert)
  upsert(@Payload(new ZodPipe(AuthRpc.LocksUpsertRequest)) req: AuthRpc.Infer<typeof AuthRpc.LocksUpsertRequest>) {
    return this.locks.upsert(this.cas.caller(req.caller_cert).name, req.lock, req.must_not_exist);
  }

  @BusRequest(Rpc.Auth.LocksList)
  list(@Payload(new ZodPipe(AuthRpc.LocksListRequest)) _req: AuthRpc.Infer<typeof AuthRpc.LocksListRequest>) {
    return this.locks.list();
  }

  @BusRequest(Rpc.Auth.LocksGet)
  get(@Payload(new ZodPipe(AuthRpc.LockNameRequest)) req: AuthRpc.Infer<typeof AuthRpc.LockNameRequest>) {
    return this.locks.get(req.name);
  }

  @BusRequest(Rpc.Auth.LocksDelete)
  async delete(@Payload(new ZodPipe(AuthRpc.LocksDeleteRequest)) req: AuthRpc.Infer<typeof AuthRpc.LocksDeleteRequest>) {
    await this.locks.delete(this.cas.caller(req.caller_cert).name, req.name);
    return {};
  }
}
