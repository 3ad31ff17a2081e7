import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SetMetadata } from '@nestjs/common';
import type { RpcClient } from '#libs/bus';
import { AccessDeniedError } from '#libs/common';
import { AuthRpc, Rpc } from '#libs/events';
import type { Caller } from './identity.js';

/** The web UI's session cookie, as Teleport names it: `__Host-` binds it to this host, over HTTPS, at `/`. */
export const SESSION_COOKIE = '__Host-session';
/** What the page sends back with every request that changes something. */
export const CSRF_HEADER = 'x-csrf-token';

export const WEB_UI = 'dbaccess:web-ui';
/**
 * Marks a handler the web UI calls: besides a client certificate, it takes the session cookie of a
 * signed-in browser. Handlers without it (tctl's, certificate issuing) never accept a cookie.
 */
export const WebUi = () => SetMetadata(WEB_UI, true);

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** The session token of the request's cookie; undefined when there is none or it is not one of ours. */
export function sessionToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return /^[0-9a-f]{64}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/**
 * Refuses a request another site made the browser send: the cookie is SameSite=Strict, so browsers
 * should not send it cross-site at all; this holds for those that do and for forged requests. Fetch
 * metadata first (every current browser sends it), then Origin.
 */
export function refuseCrossSite(req: IncomingMessage): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new AccessDeniedError(`cross-site request refused (Sec-Fetch-Site: ${site})`);
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `https://${req.headers.host}`)
    throw new AccessDeniedError(`cross-site request refused (Origin: ${origin})`);
}

export function setSessionCookie(res: { setHeader(name: string, value: string): unknown }, token: string, expires: string): void {
  const maxAge = Math.max(0, Math.floor((Date.parse(expires) - Date.now()) / 1000));
  res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAge}; Secure; HttpOnly; SameSite=Strict`);
}

export function clearSessionCookie(res: { setHeader(name: string, value: string): unknown }): void {
  res.setHeader('Set-Cookie', `${SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict`);
}

/**
 * The signed-in user behind the request's cookie, as the auth service has them now; undefined without a
 * cookie. A request that changes something must carry the session's CSRF token.
 */
export async function webCaller(req: IncomingMessage, rpc: RpcClient): Promise<(Caller & { kind: 'user' }) | undefined> {
  const token = sessionToken(req);
  if (!token) return undefined;
  refuseCrossSite(req);
  const session = await rpc.call<AuthRpc.WebSessionView>(Rpc.Auth.WebSessionGet, { token });
  if (!SAFE_METHODS.has(req.method ?? '')) {
    const sent = Buffer.from(String(req.headers[CSRF_HEADER] ?? ''));
    const expected = Buffer.from(session.csrf_token);
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
      throw new AccessDeniedError(`this request needs the ${CSRF_HEADER} header of your web session`);
    }
  }
  return {
    kind: 'user',
    name: session.user,
    roles: session.roles,
    traits: session.traits,
    expires: new Date(session.expires),
    web: session,
  };
}
