import { AccessDeniedError, NotFoundError } from '#libs/common';
import { Aggregate, clusterSubject, type AuthRpc, type SignedCert, type UserEvents } from '#libs/events';
import { fold, type EventStore, type Projection } from '#libs/eventstore';
import { maxSessionTtlMs } from '#libs/rbac';
import { signUserCert } from '#libs/pki';
import type { AuthView } from '../auth.view.js';
import type { CertAuthorities } from '../cas/cert-authorities.js';
import type { LocksService } from '../locks/locks.service.js';
import type { RolesService } from '../roles/roles.service.js';
import { newToken, tokenHash } from '../secrets.js';
import { checkPasswordStrength, hashPassword, verifyAgainstNothing, verifyPassword } from './passwords.js';
import { accountLocked, lockedUntil, userDecider, type UserState } from './user.decider.js';

export const INVITE_TTL_MS = 60 * 60_000;
export const RESET_TTL_MS = 8 * 60 * 60_000;
export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60_000;
const INVALID_CREDENTIALS = 'invalid username or password';

type Rpc = typeof AuthRpc;

function subject(name: string): string {
  return clusterSubject(Aggregate.User, name);
}

export class UsersService {
  constructor(
    private readonly store: EventStore,
    private readonly view: AuthView,
    private readonly projection: Projection,
    private readonly roles: RolesService,
    private readonly cas: CertAuthorities,
    private readonly locks: LocksService,
  ) {}

  async create(req: AuthRpc.Infer<Rpc['UsersCreateRequest']>): Promise<AuthRpc.PasswordLinkReply> {
    await this.roles.requireExisting(req.roles);
    const token = newToken();
    const expires = new Date(Date.now() + INVITE_TTL_MS).toISOString();
    await this.store.handle(subject(req.name), userDecider, {
      type: 'create',
      name: req.name,
      roles: req.roles,
      traits: req.traits,
      by: this.cas.caller(req.caller_cert).name,
      tokenHash: tokenHash(token),
      tokenExpires: expires,
    });
    return { user: req.name, token, expires };
  }

  async list(): Promise<AuthRpc.UserView[]> {
    await this.projection.sync();
    return [...this.view.users.values()]
      .filter((u) => u.exists)
      .map(toView)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<AuthRpc.UserView> {
    await this.projection.sync();
    const user = this.view.users.get(name);
    if (!user?.exists) throw new NotFoundError(`user "${name}" not found`);
    return toView(user);
  }

  async update(req: AuthRpc.Infer<Rpc['UsersUpdateRequest']>): Promise<AuthRpc.UserView> {
    if (req.roles) await this.roles.requireExisting(req.roles);
    const { state } = await this.store.handle(subject(req.name), userDecider, {
      type: 'update',
      name: req.name,
      roles: req.roles,
      traits: req.traits,
    });
    return toView(state);
  }

  async delete(name: string): Promise<void> {
    await this.store.handle(subject(name), userDecider, { type: 'delete', name });
  }

  async reset(name: string): Promise<AuthRpc.PasswordLinkReply> {
    const token = newToken();
    const expires = new Date(Date.now() + RESET_TTL_MS).toISOString();
    await this.store.handle(subject(name), userDecider, { type: 'reset', name, tokenHash: tokenHash(token), tokenExpires: expires });
    return { user: name, token, expires };
  }

  async passwordToken(token: string): Promise<AuthRpc.PasswordTokenView> {
    await this.projection.sync();
    const user = this.view.userByTokenHash(tokenHash(token));
    if (!user?.token || user.token.expires <= new Date().toISOString()) {
      throw new NotFoundError('this link has expired or was already used; ask an administrator for a new one (tctl users reset <user>)');
    }
    return { user: user.name, kind: user.token.kind, expires: user.token.expires };
  }

  async setPassword(token: string, password: string): Promise<{ user: string }> {
    checkPasswordStrength(password);
    const { user } = await this.passwordToken(token);
    await this.store.handle(subject(user), userDecider, {
      type: 'set-password',
      tokenHash: tokenHash(token),
      passwordHash: await hashPassword(password),
      now: new Date().toISOString(),
    });
    return { user };
  }

  /** Password login: checks the lock, the password, records the outcome, signs a user certificate for the given key. */
  async login(req: AuthRpc.Infer<Rpc['LoginRequest']>): Promise<SignedCert & { expires: string }> {
    const user = await this.authenticate(req.user, req.password);
    return this.signFor(user, req.public_key, req.ttl_ms ?? DEFAULT_SESSION_TTL_MS);
  }

  /**
   * The password check of `tsh login` and the web UI's sign-in: every attempt is recorded, and enough
   * failed ones lock the account for a while. (Locks of the user or their roles are checked by what
   * the caller then issues.)
   */
  async authenticate(name: string, password: string): Promise<UserState> {
    const loaded = await this.store.load<UserEvents>(subject(name));
    const user = fold(userDecider, loaded.events);
    if (!user.exists || !user.passwordHash) {
      await verifyAgainstNothing(password);
      throw new AccessDeniedError(INVALID_CREDENTIALS);
    }
    const until = lockedUntil(user, new Date());
    if (until) throw accountLocked(user.name, until);
    const ok = await verifyPassword(password, user.passwordHash);
    const { state } = await this.store.handle(
      subject(name),
      userDecider,
      { type: 'record-login', name, ok, now: new Date().toISOString() },
      loaded,
    );
    if (!ok) {
      const lockedNow = lockedUntil(state, new Date());
      throw lockedNow ? accountLocked(user.name, lockedNow) : new AccessDeniedError(INVALID_CREDENTIALS);
    }
    return state;
  }

  /** The longest a session of `user` may last: their roles' max_session_ttl, at most `capMs`. */
  sessionTtlMs(user: UserState, capMs: number): number {
    return Math.min(capMs, maxSessionTtlMs(this.roles.resolve(user.roles)));
  }

  /** A user as the projection has them now; undefined once deleted. */
  current(name: string): UserState | undefined {
    const user = this.view.users.get(name);
    return user?.exists ? user : undefined;
  }

  /** `tctl auth sign --user`: a certificate for an existing user, with the TTL asked (admins are not capped by the roles). */
  async signUser(name: string, publicKey: string, ttlMs: number): Promise<SignedCert & { expires: string }> {
    await this.projection.sync();
    const user = this.view.users.get(name);
    if (!user?.exists) throw new NotFoundError(`user "${name}" not found`);
    return this.sign(user, publicKey, ttlMs);
  }

  private signFor(user: UserState, publicKey: string, requestedTtlMs: number): Promise<SignedCert & { expires: string }> {
    return this.sign(user, publicKey, this.sessionTtlMs(user, requestedTtlMs));
  }

  /** Refused while a lock on the user or one of their roles is in force (after the password check: it tells nothing to strangers). */
  private async sign(user: UserState, publicKey: string, ttlMs: number): Promise<SignedCert & { expires: string }> {
    await this.locks.refuseLocked(user.name, user.roles);
    const cert = signUserCert(this.cas.get('user'), publicKey, { username: user.name, roles: user.roles, traits: user.traits }, ttlMs);
    return { cert, cas: this.cas.allCerts(), expires: new Date(Date.now() + ttlMs).toISOString() };
  }
}

function toView(user: UserState): AuthRpc.UserView {
  const locked = lockedUntil(user, new Date());
  return {
    name: user.name,
    roles: user.roles,
    traits: user.traits,
    created_by: user.createdBy,
    has_password: Boolean(user.passwordHash),
    ...(locked ? { locked_until: locked.toISOString() } : {}),
  };
}
