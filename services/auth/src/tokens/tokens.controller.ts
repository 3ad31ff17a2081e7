import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { BusRequest, ZodPipe } from '#libs/bus';
import { AuthRpc, Rpc } from '#libs/events';
import { TokensService } from './tokens.service.js';

@Controller()
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @BusRequest(Rpc.Auth.TokensCreate)
  create(@Payload(new ZodPipe(AuthRpc.TokensCreateRequest)) req: AuthRpc.Infer<typeof AuthRpc.TokensCreateRequest>) {
    return this.tokens.create(req);
  }

  @BusRequest(Rpc.Auth.TokensList)
  list(@Payload(new ZodPipe(AuthRpc.TokensListRequest)) _req: AuthRpc.Infer<typeof AuthRpc.TokensListRequest>) {
    return this.tokens.list();
  }

  @BusRequest(Rpc.Auth.TokensDelete)
  async delete(@Payload(new ZodPipe(AuthRpc.TokenRequest)) req: AuthRpc.Infer<typeof AuthRpc.TokenRequest>) {
    await this.tokens.delete(req.token);
    return {};
  }

  @BusRequest(Rpc.Auth.Join)
  join(@Payload(new ZodPipe(AuthRpc.JoinRequest)) req: AuthRpc.Infer<typeof AuthRpc.JoinRequest>) {
    return this.tokens.join(req);
  }
}
