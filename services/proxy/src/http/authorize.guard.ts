import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AccessDeniedError } from '#libs/common';
import { Rpc } from '#libs/events';
import { checkRule, lockInForce, lockInForceMessage, parseLock, parseRole, type Role, type Verb } from '#libs/rbac';
import { callerOf, type Caller } from './identity.js';
import { requestRpc } from './request-tracing.js';
import { WEB_UI, webCaller } from './web-session.js';

const RULE = 'dbaccess:rule';

/**
 * Marks a handler as needing a caller whose roles allow `verb` on `resource` (the built-in Admin may
 * do everything). Without a rule, any authenticated user passes and the handler checks the rest.
 * A user under a lock in force (on them or one of their certificate's roles) is refused everything, as in Teleport.
 */
export const Authorize = (resource?: string, verb?: Verb) => SetMetadata(RULE, { resource, verb });

export interface AuthorizedRequest extends Request {
  caller: Caller;
  callerRoles: Role[];
}

@Injectable()
export class AuthorizeGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.get<{ resource?: string; verb?: Verb } | undefined>(RULE, context.getHandler());
    if (!rule) return true;
    const req = context.switchToHttp().getRequest<AuthorizedRequest>();
    const rpc = requestRpc(req);
    const web = this.reflector.get<boolean | undefined>(WEB_UI, context.getHandler()) === true;
    const caller = callerOf(req) ?? (web ? await webCaller(req, rpc) : undefined);
    if (!caller)
      throw new AccessDeniedError(
        web
          ? "this needs credentials: run 'tsh login', or sign in to the web UI at /web/login"
          : "this needs credentials: run 'tsh login', or use 'tctl' on the auth host or with -i <identity file>",
      );
    req.caller = caller;
    if (caller.kind === 'builtin') {
      if (caller.systemRole === 'Admin') return true;
      throw new AccessDeniedError(`${caller.systemRole} processes may not call this endpoint`);
    }
    const [all, locks] = await Promise.all([rpc.call<unknown[]>(Rpc.Auth.RolesList, {}), rpc.call<unknown[]>(Rpc.Auth.LocksList, {})]);
    const lock = lockInForce(locks.map(parseLock), { user: caller.name, roles: caller.roles }, new Date());
    if (lock) throw new AccessDeniedError(lockInForceMessage(lock));
    req.callerRoles = all.map((r) => parseRole(r)).filter((r) => caller.roles.includes(r.metadata.name));
    if (rule.resource && rule.verb && !checkRule(req.callerRoles, rule.resource, rule.verb)) {
      throw new AccessDeniedError(
        `access denied to perform action "${rule.verb}" on "${rule.resource}": user "${caller.name}" has roles ${caller.roles.join(', ')}`,
      );
    }
    return true;
  }
}
