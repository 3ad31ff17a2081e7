import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ZodPipe } from '#libs/bus';
import { AuthRpc, Rpc } from '#libs/events';
import { TokensService } from './tokens.service.js';

@Controller()
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @MessagePattern(Rpc.Auth.TokensCreate)
  create(@Payload(new ZodPipe(AuthRpc.TokensCreateRequest)) req: AuthRpc.Infer<typeof AuthRpc.TokensCreateRequest>) {
    return this.tokens.create(req);
  }

  @MessagePattern(Rpc.Auth.TokensList)
  list(@Payload(new ZodPipe(AuthRpc.TokensListRequest)) _req: AuthRpc.Infer<typeof AuthRpc.TokensListRequest>) {
    return this.tokens.list();
  }

  @MessagePattern(Rpc.Auth.TokensDelete)
  async delete(@Payload(new ZodPipe(AuthRpc.TokenRequest)) req: AuthRpc.Infer<typeof AuthRpc.TokenRequest>) {
    await this.tokens.delete(req.token);
    return {};
  }

  @MessagePattern(Rpc.Auth.Join)
  join(@Payload(new ZodPipe(AuthRpc.JoinRequest)) req: AuthRpc.Infer<typeof AuthRpc.JoinRequest>) {
    return this.tokens.join(req);
  }
}
