import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { BusRequest, BusRole, issueBusJwt, Sender, ZodPipe, type BusIdentity, type BusSigner } from '#libs/bus';
import { AccessDeniedError, TELEPORT_COMPAT_VERSION } from '#libs/common';
import { AuthRpc, Rpc, type SignedCert } from '#libs/events';
import { parseUserIdentity, signDbClientCert, signDbServerCert, signHostCert, signUserCert, verifyUserCert } from '#libs/pki';
import { BUS_SIGNER, SESSIONS, type SessionLookup } from '../auth.tokens.js';
import { CertAuthorities } from '../cas/cert-authorities.js';
import { JOINED_HOST_CERT_TTL_MS } from '../tokens/tokens.service.js';
import { LocksService } from '../locks/locks.service.js';
import { UsersService } from '../users/users.service.js';

/** Processes that join with a token, by bus role: the system role of their host certificates. */
const JOINED_ROLES: Partial<Record<string, string>> = {
  [BusRole.Db]: 'Db',
  [BusRole.Proxy]: 'Proxy',
  [BusRole.Provisioning]: 'Provisioning',
};

/** Who may get db_client certificates for any database user: provisioning (its admin users) and the admin. */
const DB_CLIENT_SIGNERS = new Set<string>([BusRole.Provisioning, BusRole.Admin]);

@Controller()
export class CertsController {
  constructor(
    private readonly cas: CertAuthorities,
    private readonly users: UsersService,
    private readonly locks: LocksService,
    @Inject(BUS_SIGNER) private readonly busSigner: BusSigner,
    @Inject(SESSIONS) private readonly sessions: SessionLookup,
  ) {}

  @BusRequest(Rpc.Auth.Ping)
  ping(@Payload(new ZodPipe(AuthRpc.PingRequest)) _req: AuthRpc.Infer<typeof AuthRpc.PingRequest>): AuthRpc.PingReply {
    return { cluster_name: this.cas.clusterName(), server_version: TELEPORT_COMPAT_VERSION, ca_pins: this.cas.hostPins() };
  }

  @BusRequest(Rpc.Auth.CasExport)
  export(@Payload(new ZodPipe(AuthRpc.CasExportRequest)) req: AuthRpc.Infer<typeof AuthRpc.CasExportRequest>) {
    return { certs: this.cas.certs(req.type) };
  }

  /**
   * The proxy's own host certificate. Its role and host id are those of the sender on the bus, never
   * the payload's; outside processes join with a token instead.
   */
  @BusRequest(Rpc.Auth.SignHost)
  signHost(
    @Sender() sender: BusIdentity,
    @Payload(new ZodPipe(AuthRpc.SignHostRequest)) req: AuthRpc.Infer<typeof AuthRpc.SignHostRequest>,
  ): SignedCert {
    if (sender.role !== BusRole.Proxy) throw new AccessDeniedError(`${sender.role} processes get host certificates by joining`);
    const cert = signHostCert(this.cas.get('host'), req.public_key, {
      hostId: sender.id,
      systemRole: 'Proxy',
      dnsNames: req.dns_names,
      ipAddresses: req.ip_addresses,
      ttlMs: req.ttl_ms,
    });
    return { cert, cas: this.cas.allCerts() };
  }

  /**
   * A Database Service gets a certificate only for the database user of one of its own sessions, as the
   * broker registered it (or, when the session provisions its user, for the database's admin user): its
   * credentials alone open no database as anyone.
   */
  private async requireSessionUser(sender: BusIdentity, dbUser: string, sid: string | undefined): Promise<void> {
    const entry = sid ? await this.sessions.get(sid) : undefined;
    const own = entry && entry.hosts.includes(sender.id);
    if (own && (entry.db_user === dbUser || (entry.auto_user && entry.admin_user === dbUser))) return;
    throw new AccessDeniedError(
      sid
        ? `session ${sid} is not one of this Database Service's sessions as database user "${dbUser}"`
        : 'a Database Service gets database certificates for its own sessions only: the request names no session',
    );
  }

  /** A joined Database Service renews its host certificate and bus credentials; who it is comes from the bus. */
  @BusRequest(Rpc.Auth.Renew)
  async renew(
    @Sender() sender: BusIdentity,
    @Payload(new ZodPipe(AuthRpc.RenewRequest)) req: AuthRpc.Infer<typeof AuthRpc.RenewRequest>,
  ): Promise<AuthRpc.JoinReply> {
    const systemRole = JOINED_ROLES[sender.role];
    if (!systemRole) throw new AccessDeniedError(`${sender.role} processes do not renew joined identities`);
    const cert = signHostCert(this.cas.get('host'), req.public_key, { hostId: sender.id, systemRole, ttlMs: JOINED_HOST_CERT_TTL_MS });
    return { cert, cas: this.cas.allCerts(), bus_jwt: await issueBusJwt(this.busSigner, sender, req.bus_public_key) };
  }

  /** `tctl auth sign --format=db`: the database's server certificate, and the db_client CA it must trust. */
  @BusRequest(Rpc.Auth.SignDbServer)
  signDb(@Payload(new ZodPipe(AuthRpc.SignDbServerRequest)) req: AuthRpc.Infer<typeof AuthRpc.SignDbServerRequest>): SignedCert {
    const cert = signDbServerCert(this.cas.get('db'), req.public_key, { hosts: req.hosts, ttlMs: req.ttl_ms });
    return { cert, cas: { db_client: this.cas.certs('db_client'), db: this.cas.certs('db') } };
  }

  /** The Database Service's certificate for one database user: only Database Services (and the admin) get them. */
  @BusRequest(Rpc.Auth.SignDbClient)
  async signDbClient(
    @Sender() sender: BusIdentity,
    @Payload(new ZodPipe(AuthRpc.SignDbClientRequest)) req: AuthRpc.Infer<typeof AuthRpc.SignDbClientRequest>,
  ): Promise<SignedCert> {
    if (sender.role === BusRole.Db) await this.requireSessionUser(sender, req.db_user, req.sid);
    else if (!DB_CLIENT_SIGNERS.has(sender.role)) throw new AccessDeniedError(`${sender.role} processes do not connect to databases`);
    const cert = signDbClientCert(this.cas.get('db_client'), req.public_key, { dbUser: req.db_user, ttlMs: req.ttl_ms });
    return { cert, cas: { db: this.cas.certs('db') } };
  }

  /**
   * `tsh db login` (through the proxy): the identity of the user's current certificate plus the route to
   * one database, expiring when that certificate does, so a database login never outlives `tsh login`.
   */
  @BusRequest(Rpc.Auth.SignUserDb)
  async signUserDb(
    @Payload(new ZodPipe(AuthRpc.SignUserDbRequest)) req: AuthRpc.Infer<typeof AuthRpc.SignUserDbRequest>,
  ): Promise<AuthRpc.SignedUserCert> {
    const user = verifyUserCert(req.user_cert, this.cas.certs('user'));
    await this.users.get(user.username);
    await this.locks.refuseLocked(user.username, user.roles);
    const ttlMs = user.expires.getTime() - Date.now();
    const { route } = req;
    const cert = signUserCert(
      this.cas.get('user'),
      req.public_key,
      {
        username: user.username,
        roles: user.roles,
        traits: user.traits,
        dbRoute: {
          serviceName: route.service_name,
          protocol: route.protocol,
          ...(route.username !== undefined ? { username: route.username } : {}),
          ...(route.database !== undefined ? { database: route.database } : {}),
          ...(route.roles?.length ? { roles: route.roles } : {}),
        },
      },
      ttlMs,
    );
    return { cert, cas: this.cas.allCerts(), expires: parseUserIdentity(cert).expires.toISOString() };
  }
}
