import { randomBytes } from 'node:crypto';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { KV } from '@nats-io/kv';
import { BusRequest, ZodPipe } from '#libs/bus';
import { retryThroughFailover } from '#libs/eventstore';
import { AccessDeniedError } from '#libs/common';
import { AuthRpc, Rpc } from '#libs/events';
import type { LocksService } from '../locks/locks.service.js';
import { tokenHash } from '../secrets.js';
import type { UsersService } from './users.service.js';

/** A web session lasts as long as a `tsh login` certificate would: the roles' max_session_ttl, at most this. */
export const WEB_SESSION_MAX_TTL_MS = 12 * 60 * 60_000;

const ENDED = 'your web session has ended: sign in again';

interface StoredSession {
  user: string;
  expires: string;
  csrf_token: string;
}

/**
 * The web UI's sessions: a random token in the browser's cookie, its SHA-256 as the key of the
 * WEB_SESSIONS bucket, which the auth service alone may read: what is stored is no usable token. (The
 * token itself crosses the bus only in the proxies' requests, which auth alone receives.) Each request
 * checks the session and takes the user's roles as they are now: a user deleted, or a lock put on them,
 * ends their web sessions at once.
 */
export class WebSessions {
  constructor(
    private readonly bucket: KV,
    private readonly users: UsersService,
    private readonly locks: LocksService,
  ) {}

  async create(req: AuthRpc.Infer<typeof AuthRpc.WebSessionCreateRequest>): Promise<AuthRpc.WebSessionView & { token: string }> {
    const user = await this.users.authenticate(req.user, req.password);
    await this.locks.refuseLocked(user.name, user.roles);
    const token = randomBytes(32).toString('hex');
    const stored: StoredSession = {
      user: user.name,
      expires: new Date(Date.now() + this.users.sessionTtlMs(user, WEB_SESSION_MAX_TTL_MS)).toISOString(),
      csrf_token: randomBytes(32).toString('base64url'),
    };
    await retryThroughFailover(() => this.bucket.put(tokenHash(token), JSON.stringify(stored)));
    return { token, ...this.view(stored) };
  }

  async get(token: string): Promise<AuthRpc.WebSessionView> {
    const entry = await retryThroughFailover(() => this.bucket.get(tokenHash(token)));
    if (!entry || entry.operation !== 'PUT') throw new AccessDeniedError(ENDED);
    const stored = entry.json<StoredSession>();
    if (stored.expires <= new Date().toISOString()) throw new AccessDeniedError(ENDED);
    const view = this.view(stored);
    await this.locks.refuseLocked(view.user, view.roles);
    return view;
  }

  async delete(token: string): Promise<void> {
    await retryThroughFailover(() => this.bucket.delete(tokenHash(token)));
  }

  private view(stored: StoredSession): AuthRpc.WebSessionView {
    const user = this.users.current(stored.user);
    if (!user) throw new AccessDeniedError(ENDED);
    return { user: user.name, roles: user.roles, traits: user.traits, expires: stored.expires, csrf_token: stored.csrf_token };
  }
}

@Controller()
export class WebSessionsController {
  constructor(private readonly sessions: WebSessions) {}

  @BusRequest(Rpc.Auth.WebSessionCreate)
  create(@Payload(new ZodPipe(AuthRpc.WebSessionCreateRequest)) req: AuthRpc.Infer<typeof AuthRpc.WebSessionCreateRequest>) {
    return this.sessions.create(req);
  }

  @BusRequest(Rpc.Auth.WebSessionGet)
  get(@Payload(new ZodPipe(AuthRpc.WebSessionTokenRequest)) req: AuthRpc.Infer<typeof AuthRpc.WebSessionTokenRequest>) {
    return this.sessions.get(req.token);
  }

  @BusRequest(Rpc.Auth.WebSessionDelete)
  async delete(@Payload(new ZodPipe(AuthRpc.WebSessionTokenRequest)) req: AuthRpc.Infer<typeof AuthRpc.WebSessionTokenRequest>) {
    await this.sessions.delete(req.token);
    return {};
  }
}
