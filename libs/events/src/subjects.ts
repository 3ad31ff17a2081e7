// Every NATS subject and stream name the services share. Services never spell them out.

/** Names as NATS subject tokens: `.`, `*`, `>` and white space are not allowed in a token, so they are percent-encoded. */
export function subjectToken(name: string): string {
  return encodeURIComponent(name).replace(/\./g, '%2E').replace(/\*/g, '%2A');
}

export function fromSubjectToken(token: string): string {
  return decodeURIComponent(token);
}

export const Streams = {
  /** Event-sourced cluster state, one subject per aggregate. */
  Cluster: { name: 'CLUSTER', subjects: ['cluster.>'] },
  /** Audit events, `audit.<sid>.<event type>`. */
  Audit: { name: 'AUDIT', subjects: ['audit.>'] },
} as const;

export const Aggregate = {
  User: 'user',
  Role: 'role',
  Token: 'token',
  CertAuthority: 'ca',
  Db: 'db',
  Lock: 'lock',
} as const;
export type Aggregate = (typeof Aggregate)[keyof typeof Aggregate];

export function clusterSubject(aggregate: Aggregate, id: string): string {
  return `cluster.${aggregate}.${subjectToken(id)}`;
}

export function clusterFilter(aggregate?: Aggregate): string {
  return aggregate ? `cluster.${aggregate}.>` : 'cluster.>';
}

/** Parses `cluster.<aggregate>.<id>`. */
export function parseClusterSubject(subject: string): { aggregate: string; id: string } | undefined {
  const [root, aggregate, token, ...rest] = subject.split('.');
  if (root !== 'cluster' || !aggregate || !token || rest.length) return undefined;
  return { aggregate, id: fromSubjectToken(token) };
}

/** Audit events that belong to no session (resource changes) use this in place of a session id. */
export const NO_SESSION = 'cluster';

export function auditSubject(sid: string, eventType: string): string {
  return `audit.${sid}.${eventType}`;
}

/** Request/reply subjects, `<service>.<verb>`. */
export const Rpc = {
  Auth: {
    Ping: 'auth.ping',
    CasExport: 'auth.cas.export',
    UsersCreate: 'auth.users.create',
    UsersList: 'auth.users.list',
    UsersGet: 'auth.users.get',
    UsersUpdate: 'auth.users.update',
    UsersDelete: 'auth.users.delete',
    UsersReset: 'auth.users.reset',
    PasswordTokenGet: 'auth.users.password-token.get',
    PasswordSet: 'auth.users.password.set',
    Login: 'auth.users.login',
    /** The web UI's sign-in, the session behind its cookie, and sign-out. */
    WebSessionCreate: 'auth.web.sessions.create',
    WebSessionGet: 'auth.web.sessions.get',
    WebSessionDelete: 'auth.web.sessions.delete',
    RolesUpsert: 'auth.roles.upsert',
    RolesList: 'auth.roles.list',
    RolesGet: 'auth.roles.get',
    RolesDelete: 'auth.roles.delete',
    LocksUpsert: 'auth.locks.upsert',
    LocksList: 'auth.locks.list',
    LocksGet: 'auth.locks.get',
    LocksDelete: 'auth.locks.delete',
    TokensCreate: 'auth.tokens.create',
    TokensList: 'auth.tokens.list',
    TokensDelete: 'auth.tokens.delete',
    Join: 'auth.tokens.join',
    SignHost: 'auth.certs.sign-host',
    SignDbServer: 'auth.certs.sign-db',
    SignDbClient: 'auth.certs.sign-db-client',
    SignUser: 'auth.certs.sign-user',
    SignUserDb: 'auth.certs.sign-user-db',
    /** A joined process renews its own host certificate and bus credentials (identity from the sender). */
    Renew: 'auth.certs.renew',
  },
  Inventory: {
    /** Whether an inventory replica answers: what /readyz of the services that call it asks. */
    Ping: 'inventory.ping',
    DbsUpsert: 'inventory.dbs.upsert',
    DbsList: 'inventory.dbs.list',
    DbsGet: 'inventory.dbs.get',
    DbsDelete: 'inventory.dbs.delete',
    /** The `kind: db` resources a Database Service's resource selectors match: what it serves besides its own. */
    DbsMatching: 'inventory.dbs.matching',
    /** A database and the live Database Services that serve it. */
    DbServers: 'inventory.dbs.servers',
  },
  Broker: {
    /** Whether a broker replica answers: what /readyz of the services that call it asks. */
    Ping: 'broker.ping',
    /** The proxy asks whether a session may start, and which Database Service serves it. */
    Authorize: 'broker.sessions.authorize',
    /** The Database Service checks the session for itself before serving it, and registers it as live. */
    SessionsStart: 'broker.sessions.start',
    /** The Database Service reports a session's end. */
    SessionsEnd: 'broker.sessions.end',
    /** A proxy received a CancelRequest: the broker sends it to the Database Service holding the key. */
    Cancel: 'broker.sessions.cancel',
    /** A live session as the registry has it, for the Database Service serving it (and its provisioning). */
    SessionsGet: 'broker.sessions.get',
  },
  /** `auditlog.`, not `audit.`: everything under `audit.>` is stored by the AUDIT stream, requests included. */
  Audit: {
    SessionsList: 'auditlog.sessions.list',
    SessionsGet: 'auditlog.sessions.get',
    SessionEvents: 'auditlog.sessions.events',
    EventsSearch: 'auditlog.events.search',
  },
} as const;

/** Verbs of the provisioning service, one subject family per database: `provisioning.<database>.<verb>`. */
export const ProvisioningVerb = {
  Activate: 'activate',
  Deactivate: 'deactivate',
} as const;

/** Requests about `database`'s users; every provisioning replica serving it shares them (queue `provisioning.<database>`). */
export function provisioningSubject(database: string, verb: string): string {
  return `provisioning.${subjectToken(database)}.${verb}`;
}

/** Core NATS, one subject per Database Service: a CancelRequest for one of its sessions (from the broker). */
export function cancelSubject(hostId: string): string {
  return `db.cancel.${hostId}`;
}

/** Core NATS, one subject per Database Service: end one of its sessions now (a lock, a revoked user). */
export function terminateSubject(hostId: string): string {
  return `db.terminate.${hostId}`;
}

/** JetStream KV buckets. */
export const Buckets = {
  /** Live Database Services, key `<db name>.<host id>`, renewed by heartbeats. */
  DbServers: 'DB_SERVERS',
  /** Live proxies, key `<host id>`: where Database Services open their tunnels. */
  Proxies: 'PROXIES',
  /** The broker's registry of sessions, key `<session id>`: assigned, then live until they end. */
  Sessions: 'SESSIONS',
  /** The web UI's sign-ins, key the SHA-256 of the cookie's token; the auth service alone reads it. */
  WebSessions: 'WEB_SESSIONS',
} as const;

/** NATS queue groups: replicas of one service share its requests. */
export const QueueGroup = {
  Auth: 'auth',
  Inventory: 'inventory',
  Broker: 'broker',
  Audit: 'audit',
} as const;
