import { RpcClient } from '#libs/bus';
import { Bus } from './request-tracing.js';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Req } from '@nestjs/common';
import { AuthRpc, Rpc, type SignedCert } from '#libs/events';
import { canImpersonateRole } from '#libs/rbac';
import { AccessDeniedError } from '#libs/common';
import { Authorize, type AuthorizedRequest } from './authorize.guard.js';
import { ProxySettings } from './public-url.js';

/** What `tctl` does, for callers whose roles allow it (or the local Admin identity). */
@Controller('v1/admin')
export class AdminController {
  constructor(private readonly settings: ProxySettings) {}

  @Post('users')
  @Authorize('user', 'create')
  async createUser(
    @Bus() rpc: RpcClient,
    @Req() req: AuthorizedRequest,
    @Body() body: { name: string; roles: string[]; traits: Record<string, string[]> },
  ) {
    const link = await rpc.call<AuthRpc.PasswordLinkReply>(Rpc.Auth.UsersCreate, { ...body, caller_cert: req.caller.certPem });
    return { ...link, url: `${this.settings.baseUrl(req)}/web/invite/${link.token}` };
  }

  @Get('users')
  @Authorize('user', 'list')
  listUsers(@Bus() rpc: RpcClient) {
    return rpc.call<AuthRpc.UserView[]>(Rpc.Auth.UsersList, {});
  }

  @Get('users/:name')
  @Authorize('user', 'read')
  getUser(@Bus() rpc: RpcClient, @Param('name') name: string) {
    return rpc.call<AuthRpc.UserView>(Rpc.Auth.UsersGet, { name });
  }

  @Patch('users/:name')
  @Authorize('user', 'update')
  updateUser(@Bus() rpc: RpcClient, @Param('name') name: string, @Body() body: { roles?: string[]; traits?: Record<string, string[]> }) {
    return rpc.call<AuthRpc.UserView>(Rpc.Auth.UsersUpdate, { ...body, name });
  }

  @Delete('users/:name')
  @Authorize('user', 'delete')
  deleteUser(@Bus() rpc: RpcClient, @Param('name') name: string) {
    return rpc.call(Rpc.Auth.UsersDelete, { name });
  }

  @Post('users/:name/reset')
  @Authorize('user', 'update')
  async resetUser(@Bus() rpc: RpcClient, @Req() req: AuthorizedRequest, @Param('name') name: string) {
    const link = await rpc.call<AuthRpc.PasswordLinkReply>(Rpc.Auth.UsersReset, { name });
    return { ...link, url: `${this.settings.baseUrl(req)}/web/reset/${link.token}` };
  }

  @Put('roles')
  @Authorize('role', 'create')
  upsertRole(@Bus() rpc: RpcClient, @Query('create') create: string | undefined, @Body() role: unknown) {
    return rpc.call(Rpc.Auth.RolesUpsert, { role, must_not_exist: create === 'true' });
  }

  @Get('roles')
  @Authorize('role', 'list')
  listRoles(@Bus() rpc: RpcClient) {
    return rpc.call<unknown[]>(Rpc.Auth.RolesList, {});
  }

  @Get('roles/:name')
  @Authorize('role', 'read')
  getRole(@Bus() rpc: RpcClient, @Param('name') name: string) {
    return rpc.call(Rpc.Auth.RolesGet, { name });
  }

  @Delete('roles/:name')
  @Authorize('role', 'delete')
  deleteRole(@Bus() rpc: RpcClient, @Param('name') name: string) {
    return rpc.call(Rpc.Auth.RolesDelete, { name });
  }

  @Post('tokens')
  @Authorize('token', 'create')
  createToken(@Bus() rpc: RpcClient, @Body() body: unknown) {
    return rpc.call<AuthRpc.TokenView>(Rpc.Auth.TokensCreate, body);
  }

  @Get('tokens')
  @Authorize('token', 'list')
  listTokens(@Bus() rpc: RpcClient) {
    return rpc.call<AuthRpc.TokenView[]>(Rpc.Auth.TokensList, {});
  }

  @Delete('tokens/:token')
  @Authorize('token', 'delete')
  deleteToken(@Bus() rpc: RpcClient, @Param('token') token: string) {
    return rpc.call(Rpc.Auth.TokensDelete, { token });
  }

  /** `tctl lock` (no name: the auth service names it) and `tctl create` of a `kind: lock`. */
  @Put('locks')
  @Authorize('lock', 'create')
  upsertLock(@Bus() rpc: RpcClient, @Req() req: AuthorizedRequest, @Query('create') create: string | undefined, @Body() lock: unknown) {
    return rpc.call(Rpc.Auth.LocksUpsert, { caller_cert: req.caller.certPem, lock, must_not_exist: create === 'true' });
  }

  @Get('locks')
  @Authorize('lock', 'list')
  listLocks(@Bus() rpc: RpcClient) {
    return rpc.call<unknown[]>(Rpc.Auth.LocksList, {});
  }

  @Get('locks/:name')
  @Authorize('lock', 'read')
  getLock(@Bus() rpc: RpcClient, @Param('name') name: string) {
    return rpc.call(Rpc.Auth.LocksGet, { name });
  }

  @Delete('locks/:name')
  @Authorize('lock', 'delete')
  deleteLock(@Bus() rpc: RpcClient, @Req() req: AuthorizedRequest, @Param('name') name: string) {
    return rpc.call(Rpc.Auth.LocksDelete, { caller_cert: req.caller.certPem, name });
  }

  @Put('dbs')
  @Authorize('db', 'create')
  upsertDb(@Bus() rpc: RpcClient, @Req() req: AuthorizedRequest, @Query('create') create: string | undefined, @Body() resource: unknown) {
    return rpc.call(Rpc.Inventory.DbsUpsert, { caller_cert: req.caller.certPem, resource, must_not_exist: create === 'true' });
  }

  @Get('dbs')
  @Authorize('db', 'list')
  listDbs(@Bus() rpc: RpcClient) {
    return rpc.call<unknown[]>(Rpc.Inventory.DbsList, {});
  }

  @Get('dbs/:name')
  @Authorize('db', 'read')
  getDb(@Bus() rpc: RpcClient, @Param('name') name: string) {
    return rpc.call(Rpc.Inventory.DbsGet, { name });
  }

  @Delete('dbs/:name')
  @Authorize('db', 'delete')
  deleteDb(@Bus() rpc: RpcClient, @Req() req: AuthorizedRequest, @Param('name') name: string) {
    return rpc.call(Rpc.Inventory.DbsDelete, { caller_cert: req.caller.certPem, name });
  }

  /** `tctl auth sign --format=db`: needs the right to impersonate the system role Db, as in Teleport. */
  @Post('certs/db')
  @HttpCode(200)
  @Authorize()
  signDb(@Bus() rpc: RpcClient, @Req() req: AuthorizedRequest, @Body() body: unknown) {
    if (req.caller.kind === 'user' && !canImpersonateRole(req.callerRoles, req.caller.traits, 'Db')) {
      throw new AccessDeniedError(
        `user "${req.caller.name}" may not impersonate the system role Db; add 'impersonate: {users: ["Db"], roles: ["Db"]}' to one of their roles' allow rules`,
      );
    }
    return rpc.call<SignedCert>(Rpc.Auth.SignDbServer, body);
  }

  /** `tctl auth sign --user=NAME --format=file`: an identity file for a user. */
  @Post('certs/user')
  @HttpCode(200)
  @Authorize('user', 'update')
  signUser(@Bus() rpc: RpcClient, @Body() body: unknown) {
    return rpc.call<SignedCert & { expires: string }>(Rpc.Auth.SignUser, body);
  }
}
