import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { BusRequest, ZodPipe } from '#libs/bus';
import { AuthRpc, Rpc } from '#libs/events';
import { UsersService } from './users.service.js';

@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @BusRequest(Rpc.Auth.UsersCreate)
  create(@Payload(new ZodPipe(AuthRpc.UsersCreateRequest)) req: AuthRpc.Infer<typeof AuthRpc.UsersCreateRequest>) {
    return this.users.create(req);
  }

  @BusRequest(Rpc.Auth.UsersList)
  list(@Payload(new ZodPipe(AuthRpc.UsersListRequest)) _req: AuthRpc.Infer<typeof AuthRpc.UsersListRequest>) {
    return this.users.list();
  }

  @BusRequest(Rpc.Auth.UsersGet)
  get(@Payload(new ZodPipe(AuthRpc.UserNameRequest)) req: AuthRpc.Infer<typeof AuthRpc.UserNameRequest>) {
    return this.users.get(req.name);
  }

  @BusRequest(Rpc.Auth.UsersUpdate)
  update(@Payload(new ZodPipe(AuthRpc.UsersUpdateRequest)) req: AuthRpc.Infer<typeof AuthRpc.UsersUpdateRequest>) {
    return this.users.update(req);
  }

  @BusRequest(Rpc.Auth.UsersDelete)
  async delete(@Payload(new ZodPipe(AuthRpc.UserNameRequest)) req: AuthRpc.Infer<typeof AuthRpc.UserNameRequest>) {
    await this.users.delete(req.name);
    return {};
  }

  @BusRequest(Rpc.Auth.UsersReset)
  reset(@Payload(new ZodPipe(AuthRpc.UserNameRequest)) req: AuthRpc.Infer<typeof AuthRpc.UserNameRequest>) {
    return this.users.reset(req.name);
  }

  @BusRequest(Rpc.Auth.PasswordTokenGet)
  passwordToken(@Payload(new ZodPipe(AuthRpc.PasswordTokenGetRequest)) req: AuthRpc.Infer<typeof AuthRpc.PasswordTokenGetRequest>) {
    return this.users.passwordToken(req.token);
  }

  @BusRequest(Rpc.Auth.PasswordSet)
  setPassword(@Payload(new ZodPipe(AuthRpc.PasswordSetRequest)) req: AuthRpc.Infer<typeof AuthRpc.PasswordSetRequest>) {
    return this.users.setPassword(req.token, req.password);
  }

  @BusRequest(Rpc.Auth.Login)
  login(@Payload(new ZodPipe(AuthRpc.LoginRequest)) req: AuthRpc.Infer<typeof AuthRpc.LoginRequest>) {
    return this.users.login(req);
  }

  @BusRequest(Rpc.Auth.SignUser)
  signUser(@Payload(new ZodPipe(AuthRpc.SignUserRequest)) req: AuthRpc.Infer<typeof AuthRpc.SignUserRequest>) {
    return this.users.signUser(req.user, req.public_key, req.ttl_ms);
  }
}
