import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { RpcClient } from '#libs/bus';
import { AccessDeniedError } from '#libs/common';
import { AuthRpc, Rpc } from '#libs/events';
import { Authorize, type AuthorizedRequest } from './authorize.guard.js';
import { Bus } from './request-tracing.js';
import { clearSessionCookie, refuseCrossSite, sessionToken, setSessionCookie, WebUi } from './web-session.js';

type SessionReply = Omit<AuthRpc.WebSessionView, 'traits'>;

/**
 * The web UI's sign-in and sign-out (Teleport's paths). The cookie carries the session's token; the
 * page keeps the CSRF token it is given here and sends it back with every change.
 */
@Controller('v1/webapi/sessions')
export class WebSessionController {
  @Post('web')
  @HttpCode(200)
  async create(
    @Bus() rpc: RpcClient,
    @Req() req: Request,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SessionReply> {
    refuseCrossSite(req);
    const { token, ...session } = await rpc.call<AuthRpc.WebSessionView & { token: string }>(Rpc.Auth.WebSessionCreate, body);
    setSessionCookie(res, token, session.expires);
    return reply(session);
  }

  /** The signed-in user (a reloaded page finds its CSRF token here). */
  @Get('web')
  @Authorize()
  @WebUi()
  current(@Req() req: AuthorizedRequest): SessionReply {
    if (req.caller.kind !== 'user' || !req.caller.web) throw new AccessDeniedError('no web session: sign in at /web/login');
    return reply(req.caller.web);
  }

  @Delete('web')
  @Authorize()
  @WebUi()
  async delete(@Bus() rpc: RpcClient, @Req() req: AuthorizedRequest, @Res({ passthrough: true }) res: Response): Promise<object> {
    const token = sessionToken(req);
    if (token && req.caller.kind === 'user' && req.caller.web) await rpc.call(Rpc.Auth.WebSessionDelete, { token });
    clearSessionCookie(res);
    return {};
  }
}

function reply({ user, roles, expires, csrf_token }: AuthRpc.WebSessionView): SessionReply {
  return { user, roles, expires, csrf_token };
}
