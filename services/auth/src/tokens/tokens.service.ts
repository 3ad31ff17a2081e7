import { busIdentity, BusRole, issueBusJwt, type BusSigner } from '#libs/bus';
import { AccessDeniedError, BadParameterError } from '#libs/common';
import type { StaticToken } from '#libs/config';
import { Aggregate, clusterSubject, type AuthRpc } from '#libs/events';
import type { EventStore, Projection } from '#libs/eventstore';
import { openPrivateKey, sealPrivateKey, signHostCert } from '#libs/pki';
import type { AuthView } from '../auth.view.js';
import type { CertAuthorities } from '../cas/cert-authorities.js';
import { newToken, tokenHash } from '../secrets.js';
import { tokenDecider } from './token.decider.js';

/** The bus role a joining process gets, by the system role its token allows. */
const BUS_ROLE_OF = { Db: BusRole.Db, Proxy: BusRole.Proxy, Provisioning: BusRole.Provisioning } as const;

/** Host certificates from a join are renewed by the process well before this. */
export const JOINED_HOST_CERT_TTL_MS = 24 * 60 * 60_000;
const INVALID_TOKEN = "the join token is invalid, expired or was removed; ask an administrator for a new one ('tctl tokens add --type=db')";

type Rpc = typeof AuthRpc;

/** Join tokens. The stream keeps each token sealed with the key-encryption key (so `tctl tokens ls` can show it), under the subject of its hash. */
export class TokensService {
  constructor(
    private readonly store: EventStore,
    private readonly view: AuthView,
    private readonly projection: Projection,
    private readonly cas: CertAuthorities,
    private readonly kek: Buffer,
    private readonly busSigner: BusSigner,
    private readonly staticTokens: StaticToken[],
  ) {
    this.staticByHash = new Map(staticTokens.map((t) => [tokenHash(t.token), t]));
  }

  /** By hash: a lookup compares digests, never the secret itself. */
  private readonly staticByHash: Map<string, StaticToken>;

  async create(req: AuthRpc.Infer<Rpc['TokensCreateRequest']>): Promise<AuthRpc.TokenView> {
    const token = req.token ?? newToken();
    const expires = new Date(Date.now() + req.ttl_ms).toISOString();
    await this.store.handle(clusterSubject(Aggregate.Token, tokenHash(token)), tokenDecider, {
      type: 'create',
      roles: req.roles,
      sealedToken: sealPrivateKey(token, this.kek),
      expires,
    });
    return { token, roles: req.roles, expires };
  }

  /** Dynamic tokens by expiry, then the config file's static ones (expiry "never", as Teleport lists them). */
  async list(): Promise<AuthRpc.TokenView[]> {
    await this.projection.sync();
    const now = new Date().toISOString();
    const dynamic = [...this.view.tokens.values()]
      .filter((t) => t.exists && t.expires > now)
      .map((t) => ({ token: openPrivateKey(t.sealedToken, this.kek), roles: t.roles, expires: t.expires }))
      .sort((a, b) => a.expires.localeCompare(b.expires));
    return [
      ...dynamic,
      ...this.staticTokens.filter((t) => t.roles.length).map((t) => ({ token: t.token, roles: t.roles, expires: 'never' })),
    ];
  }

  async delete(token: string): Promise<void> {
    if (this.staticByHash.has(tokenHash(token)))
      throw new BadParameterError(
        "this is a static token of the auth service's teleport.yaml (auth_service.tokens): remove it there and restart",
      );
    await this.store.handle(clusterSubject(Aggregate.Token, tokenHash(token)), tokenDecider, { type: 'delete' });
  }

  /** Exchanges a valid join token for a host certificate of the role the token allows, and bus credentials for it. */
  async join(req: AuthRpc.Infer<Rpc['JoinRequest']>): Promise<AuthRpc.JoinReply> {
    const hash = tokenHash(req.token);
    const fixed = this.staticByHash.get(hash);
    if (!fixed?.roles.includes(req.role)) {
      await this.projection.sync();
      const state = this.view.tokens.get(hash);
      if (!state?.exists || state.expires <= new Date().toISOString() || !state.roles.includes(req.role)) {
        throw new AccessDeniedError(INVALID_TOKEN);
      }
    }
    const cert = signHostCert(this.cas.get('host'), req.public_key, {
      hostId: req.host_id,
      systemRole: req.role,
      dnsNames: req.dns_names,
      ipAddresses: req.ip_addresses,
      ttlMs: JOINED_HOST_CERT_TTL_MS,
    });
    const busJwt = await issueBusJwt(this.busSigner, busIdentity(BUS_ROLE_OF[req.role], req.host_id), req.bus_public_key);
    return { cert, cas: this.cas.allCerts(), bus_jwt: busJwt };
  }
}
