import { RpcClient } from '#libs/bus';
import { Bus } from './request-tracing.js';
import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ZodPipe } from '#libs/bus';
import { AccessDeniedError, NotFoundError } from '#libs/common';
import type { DbView } from '#libs/client';
import type { DbResource } from '#libs/config';
import { AuthRpc, Rpc } from '#libs/events';
import { allowedDbNames, allowedDbRoles, allowedDbUsers, canSeeDb, createDbUserMode, type Role } from '#libs/rbac';
import { Authorize, type AuthorizedRequest } from './authorize.guard.js';
import type { Caller } from './identity.js';
import { WebUi } from './web-session.js';

type UserCaller = Extract<Caller, { kind: 'user' }>;

/** `tsh db ...` for a logged-in user: the databases their roles let them see, and certificates to reach one. */
@Controller('v1/webapi')
export class UserDbController {
  @Get('dbs')
  @Authorize()
  @WebUi()
  async list(@Bus() rpc: RpcClient, @Req() req: AuthorizedRequest): Promise<DbView[]> {
    const user = userOf(req);
    const dbs = await visibleDbs(rpc, req.callerRoles, user);
    return dbs.map((db) => toView(db, req.callerRoles, user));
  }

  /** The caller's identity, from its certificate (auth checks it again), plus the route; expires with the caller's certificate. */
  @Post('certs/db')
  @HttpCode(200)
  @Authorize()
  async sign(
    @Bus() rpc: RpcClient,
    @Req() req: AuthorizedRequest,
    @Body(new ZodPipe(AuthRpc.UserDbCertRequest)) body: AuthRpc.Infer<typeof AuthRpc.UserDbCertRequest>,
  ): Promise<AuthRpc.SignedUserCert> {
    const user = userOf(req);
    if (!user.certPem) throw new AccessDeniedError("database certificates are issued to tsh: run 'tsh login', then 'tsh db login'");
    const db = (await visibleDbs(rpc, req.callerRoles, user)).find((d) => d.metadata.name === body.service_name);
    if (!db) throw new NotFoundError(`database "${body.service_name}" not found`);
    const request: AuthRpc.Infer<typeof AuthRpc.SignUserDbRequest> = {
      user_cert: user.certPem,
      route: {
        service_name: db.metadata.name,
        protocol: db.spec.protocol,
        ...(body.username !== undefined ? { username: body.username } : {}),
        ...(body.database !== undefined ? { database: body.database } : {}),
        ...(body.roles !== undefined ? { roles: body.roles } : {}),
      },
      public_key: body.public_key,
    };
    return rpc.call<AuthRpc.SignedUserCert>(Rpc.Auth.SignUserDb, request);
  }
}

async function visibleDbs(rpc: RpcClient, roles: Role[], user: UserCaller): Promise<DbResource[]> {
  const dbs = await rpc.call<DbResource[]>(Rpc.Inventory.DbsList, {});
  return dbs
    .filter((db) => canSeeDb(roles, user.traits, db.metadata.labels ?? {}))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** Database access belongs to users; cluster processes and the local admin identity have no roles to check. */
function userOf(req: AuthorizedRequest): UserCaller {
  if (req.caller.kind !== 'user') {
    throw new AccessDeniedError(`database access is for users, not for the ${req.caller.systemRole} identity: run 'tsh login' as a user`);
  }
  return req.caller;
}

function toView(db: DbResource, roles: Role[], user: UserCaller): DbView {
  const labels = db.metadata.labels ?? {};
  return {
    name: db.metadata.name,
    description: db.metadata.description ?? '',
    protocol: db.spec.protocol,
    type: db.spec.aws?.region ? 'rds' : 'self-hosted',
    uri: db.spec.uri,
    labels,
    allowed_users: allowedDbUsers(roles, user.traits, labels),
    allowed_names: allowedDbNames(roles, user.traits, labels),
    allowed_roles: allowedDbRoles(roles, user.traits, labels),
    ...(createDbUserMode(roles, user.traits, labels) !== 'off' ? { auto_user: true } : {}),
  };
}
