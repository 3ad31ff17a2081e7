import { Buckets, Rpc, Streams, cancelSubject, terminateSubject } from '#libs/events';
import { BusRole, inboxPrefix, requestSubject, type BusIdentity } from './identity.js';

/** What one process may publish and subscribe to; the NATS server enforces it (docs/security.md). */
export interface BusPermissions {
  pub: string[];
  sub: string[];
  /** May answer requests it received (publish once to their reply subject). */
  respond: boolean;
}

// JetStream's API, per stream. Names follow the server's API subjects (nats-server 2.9).
const api = (verb: string, stream: string, more = false) => [`$JS.API.${verb}.${stream}`, ...(more ? [`$JS.API.${verb}.${stream}.>`] : [])];

/** Read a stream from the start or a point: ordered and durable consumers, single messages. */
function readStream(stream: string): string[] {
  return [
    ...api('STREAM.INFO', stream),
    ...api('STREAM.MSG.GET', stream),
    ...api('DIRECT.GET', stream, true),
    ...api('CONSUMER.CREATE', stream, true),
    ...api('CONSUMER.DURABLE.CREATE', stream, true),
    ...api('CONSUMER.INFO', stream, true),
    ...api('CONSUMER.DELETE', stream, true),
    ...api('CONSUMER.MSG.NEXT', stream, true),
    `$JS.ACK.${stream}.>`,
  ];
}

/**
 * Follow a stream with ordered (ephemeral) consumers only: no durable consumer, no acknowledging, no
 * deleting anyone's consumer (an ordered consumer's own expires on the server when left).
 */
function followStream(stream: string): string[] {
  return [
    ...api('STREAM.INFO', stream),
    ...api('STREAM.MSG.GET', stream),
    ...api('DIRECT.GET', stream, true),
    ...api('CONSUMER.CREATE', stream, true),
    ...api('CONSUMER.INFO', stream, true),
    ...api('CONSUMER.MSG.NEXT', stream, true),
  ];
}

/** Create the stream and change its limits. */
function manageStream(stream: string): string[] {
  return [...api('STREAM.INFO', stream), ...api('STREAM.CREATE', stream), ...api('STREAM.UPDATE', stream)];
}

const kvStream = (bucket: string) => `KV_${bucket}`;
const kvKeys = (bucket: string, keys: string) => `$KV.${bucket}.${keys}`;

/** The requests `sender` may send: one subject per pattern, carrying its own role and id. */
function requests(sender: BusIdentity, patterns: string[]): string[] {
  return patterns.map((p) => requestSubject(p, sender));
}

const AUTH_FOR_PROXY = [
  Rpc.Auth.Ping,
  Rpc.Auth.CasExport,
  Rpc.Auth.UsersCreate,
  Rpc.Auth.UsersList,
  Rpc.Auth.UsersGet,
  Rpc.Auth.UsersUpdate,
  Rpc.Auth.UsersDelete,
  Rpc.Auth.UsersReset,
  Rpc.Auth.PasswordTokenGet,
  Rpc.Auth.PasswordSet,
  Rpc.Auth.Login,
  Rpc.Auth.WebSessionCreate,
  Rpc.Auth.WebSessionGet,
  Rpc.Auth.WebSessionDelete,
  Rpc.Auth.RolesUpsert,
  Rpc.Auth.RolesList,
  Rpc.Auth.RolesGet,
  Rpc.Auth.RolesDelete,
  Rpc.Auth.LocksUpsert,
  Rpc.Auth.LocksList,
  Rpc.Auth.LocksGet,
  Rpc.Auth.LocksDelete,
  Rpc.Auth.TokensCreate,
  Rpc.Auth.TokensList,
  Rpc.Auth.TokensDelete,
  Rpc.Auth.Join,
  Rpc.Auth.SignHost,
  Rpc.Auth.SignDbServer,
  Rpc.Auth.SignUser,
  Rpc.Auth.SignUserDb,
];

/**
 * The permission table. Every process may receive replies on its own inbox and ask JetStream for its
 * account limits; beyond that, only its job. Nobody but Admin may delete or purge a stream or bucket
 * (the audit service trims AUDIT through its limits), subscribe to `>` or read another's replies.
 */
export function permissionsFor(who: BusIdentity): BusPermissions {
  const common = { sub: [`${inboxPrefix(who)}.>`], pub: ['$JS.API.INFO'] };
  const grant = (pub: string[], sub: string[] = [], respond = false): BusPermissions => ({
    pub: [...new Set([...common.pub, ...pub])],
    sub: [...new Set([...common.sub, ...sub])],
    respond,
  });
  const serve = (service: string) => `${service}.>`;
  switch (who.role) {
    case BusRole.Admin:
      return { pub: ['>'], sub: ['>'], respond: true };
    case BusRole.Auth:
      return grant(
        [
          // Auth sets up the bus: the streams and buckets every other process opens.
          ...[Streams.Cluster.name, Streams.Audit.name, ...Object.values(Buckets).map(kvStream)].flatMap(manageStream),
          ...readStream(Streams.Cluster.name),
          ...Streams.Cluster.subjects,
          // lock.created, lock.deleted
          'audit.cluster.lock.>',
          // A Database Service gets database certificates only for its sessions' users.
          ...readStream(kvStream(Buckets.Sessions)),
          // The web UI's sessions: nobody else reads or writes them.
          ...readStream(kvStream(Buckets.WebSessions)),
          kvKeys(Buckets.WebSessions, '*'),
        ],
        [serve('auth')],
        true,
      );
    case BusRole.Inventory:
      return grant(
        [
          ...readStream(Streams.Cluster.name),
          'cluster.db.>',
          'audit.cluster.db.>',
          ...readStream(kvStream(Buckets.DbServers)),
          ...readStream(kvStream(Buckets.Proxies)),
        ],
        [serve('inventory')],
        true,
      );
    case BusRole.Broker:
      return grant(
        [
          ...readStream(Streams.Cluster.name),
          'audit.*.db.session.start',
          // The end of a session whose Database Service died, after its last stored event.
          'audit.*.db.session.end',
          ...api('STREAM.MSG.GET', Streams.Audit.name),
          ...requests(who, [Rpc.Inventory.Ping, Rpc.Inventory.DbServers]),
          ...readStream(kvStream(Buckets.Sessions)),
          kvKeys(Buckets.Sessions, '*'),
          // Sessions of Database Services that stopped heartbeating are forgotten.
          ...readStream(kvStream(Buckets.DbServers)),
          cancelSubject('*'),
          terminateSubject('*'),
        ],
        [serve('broker')],
        true,
      );
    case BusRole.Audit:
      return grant([], [serve('auditlog')], true);
    case BusRole.AuditIndex:
      return grant([
        ...readStream(Streams.Audit.name),
        // Retention: the stream's max_age and max_bytes follow audit.retention_period and max_size.
        ...api('STREAM.UPDATE', Streams.Audit.name),
      ]);
    case BusRole.Proxy:
      return grant([
        ...requests(who, [
          ...AUTH_FOR_PROXY,
          // A proxy that joined with a token renews its identity.
          Rpc.Auth.Renew,
          Rpc.Inventory.Ping,
          Rpc.Inventory.DbsUpsert,
          Rpc.Inventory.DbsList,
          Rpc.Inventory.DbsGet,
          Rpc.Inventory.DbsDelete,
          Rpc.Broker.Ping,
          Rpc.Broker.Authorize,
          Rpc.Broker.Cancel,
          ...Object.values(Rpc.Audit),
        ]),
        // `tsh play --follow` reads the live session from the stream.
        ...followStream(Streams.Audit.name),
        ...followStream(kvStream(Buckets.Proxies)),
        kvKeys(Buckets.Proxies, who.id),
      ]);
    case BusRole.Db:
      return grant(
        [
          ...requests(who, [
            // /readyz asks whether the services it calls answer.
            Rpc.Auth.Ping,
            Rpc.Broker.Ping,
            Rpc.Auth.Renew,
            Rpc.Auth.SignDbClient,
            Rpc.Broker.SessionsStart,
            Rpc.Broker.SessionsEnd,
            // Its own provisioning (in this process by default) checks requests against the registry.
            Rpc.Broker.SessionsGet,
            // The kind: db resources its db_service.resources select, which it serves too.
            Rpc.Inventory.DbsMatching,
          ]),
          // provisioning.<database>.<verb>, as this Database Service.
          `provisioning.*.*.${BusRole.Db}.${who.id}`,
          'audit.*.db.session.>',
          ...api('STREAM.INFO', kvStream(Buckets.DbServers)),
          kvKeys(Buckets.DbServers, `*.${who.id}`),
          ...followStream(kvStream(Buckets.Proxies)),
        ],
        // It answers the provisioning requests of its databases, unless provisioning runs elsewhere.
        [cancelSubject(who.id), terminateSubject(who.id), 'provisioning.>'],
        true,
      );
    case BusRole.Provisioning:
      return grant(
        requests(who, [Rpc.Auth.Ping, Rpc.Broker.Ping, Rpc.Auth.Renew, Rpc.Auth.SignDbClient, Rpc.Broker.SessionsGet]),
        ['provisioning.>'],
        true,
      );
  }
}

/** Whether one of `allowed` (NATS subjects with wildcards) covers `subject`. */
export function subjectAllowed(allowed: string[], subject: string): boolean {
  const tokens = subject.split('.');
  return allowed.some((pattern) => {
    const p = pattern.split('.');
    for (let i = 0; i < p.length; i++) {
      if (p[i] === '>') return tokens.length > i;
      if (i >= tokens.length || (p[i] !== '*' && p[i] !== tokens[i])) return false;
    }
    return p.length === tokens.length;
  });
}
