import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ZodPipe } from '#libs/bus';
import { AccessDeniedError, VERSION } from '#libs/common';
import { AuthRpc, Rpc, type SignedCert } from '#libs/events';
import { parseUserIdentity, signDbClientCert, signDbServerCert, signHostCert, signUserCert } from '#libs/pki';
import { CertAuthorities } from '../cas/cert-authorities.js';
import { LocksService } from '../locks/locks.service.js';
import { UsersService } from '../users/users.service.js';

@Controller()
export class CertsController {
  constructor(
    private readonly cas: CertAuthorities,
    private readonly users: UsersService,
    private readonly locks: LocksService,
  ) {}

  @MessagePattern(Rpc.Auth.Ping)
  ping(@Payload(new ZodPipe(AuthRpc.PingRequest)) _req: AuthRpc.Infer<typeof AuthRpc.PingRequest>): AuthRpc.PingReply {
    return { cluster_name: this.cas.clusterName(), server_version: VERSION, ca_pins: this.cas.hostPins() };
  }

  @MessagePattern(Rpc.Auth.CasExport)
  export(@Payload(new ZodPipe(AuthRpc.CasExportRequest)) req: AuthRpc.Infer<typeof AuthRpc.CasExportRequest>) {
    return { certs: this.cas.certs(req.type) };
  }

  /** For cluster processes (the proxy) over the internal bus; outside processes join with a token instead. */
  @MessagePattern(Rpc.Auth.SignHost)
  signHost(@Payload(new ZodPipe(AuthRpc.SignHostRequest)) req: AuthRpc.Infer<typeof AuthRpc.SignHostRequest>): SignedCert {
    const cert = signHostCert(this.cas.get('host'), req.public_key, {
      hostId: req.host_id,
      systemRole: req.system_role,
      dnsNames: req.dns_names,
      ipAddresses: req.ip_addresses,
      ttlMs: req.ttl_ms,
    });
    return { cert, cas: this.cas.allCerts() };
  }

  /** `tctl auth sign --format=db`: the database's server certificate, and the db_client CA it must trust. */
  @MessagePattern(Rpc.Auth.SignDbServer)
  signDb(@Payload(new ZodPipe(AuthRpc.SignDbServerRequest)) req: AuthRpc.Infer<typeof AuthRpc.SignDbServerRequest>): SignedCert {
    const cert = signDbServerCert(this.cas.get('db'), req.public_key, { hosts: req.hosts, ttlMs: req.ttl_ms });
    return { cert, cas: { db_client: this.cas.certs('db_client'), db: this.cas.certs('db') } };
  }

  /** Internal: the Database Service's certificate for one database user. */
  @MessagePattern(Rpc.Auth.SignDbClient)
  signDbClient(@Payload(new ZodPipe(AuthRpc.SignDbClientRequest)) req: AuthRpc.Infer<typeof AuthRpc.SignDbClientRequest>): SignedCert {
    const cert = signDbClientCert(this.cas.get('db_client'), req.public_key, { dbUser: req.db_user, ttlMs: req.ttl_ms });
    return { cert, cas: { db: this.cas.certs('db') } };
  }

  /**
   * `tsh db login` (through the proxy): the identity of the user's current certificate plus the route to
   * one database, expiring when that certificate does, so a database login never outlives `tsh login`.
   */
  @MessagePattern(Rpc.Auth.SignUserDb)
  async signUserDb(
    @Payload(new ZodPipe(AuthRpc.SignUserDbRequest)) req: AuthRpc.Infer<typeof AuthRpc.SignUserDbRequest>,
  ): Promise<AuthRpc.SignedUserCert> {
    await this.users.get(req.user);
    await this.locks.refuseLocked(req.user, req.roles);
    const ttlMs = Date.parse(req.expires) - Date.now();
    if (ttlMs <= 0) throw new AccessDeniedError("your credentials have expired: run 'tsh login'");
    const { route } = req;
    const cert = signUserCert(
      this.cas.get('user'),
      req.public_key,
      {
        username: req.user,
        roles: req.roles,
        traits: req.traits,
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
