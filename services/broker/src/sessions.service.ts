import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Logger } from '@nestjs/common';
import type { z } from 'zod';
import { BusRole, type BusIdentity, type KvIndex, type RpcClient } from '#libs/bus';
import { AccessDeniedError, ConnectionProblemError, NotFoundError } from '#libs/common';
import { databaseType, type DbResource } from '#libs/config';
import {
  AuditCode,
  AuditEvent,
  auditSubject,
  cancelSubject,
  DataPlane,
  Rpc,
  sessionStartFailed,
  Streams,
  terminateSubject,
  type SessionMetadata,
} from '#libs/events';
import { PUBLISH_RETRIES, retryThroughFailover, type Projection } from '#libs/eventstore';
import { verifyUserCert, type UserIdentity } from '#libs/pki';
import { servedBy, type ServedDb } from '#services/inventory';
import { decideDbAccess, lockInForce, lockInForceMessage, resultRecording } from '#libs/rbac';
import { decideAutoUser, provisioningOn } from './auto-user.js';
import type { BrokerView } from './broker.view.js';
import { ASSIGNMENT_TTL_MS, type SessionEntry, type SessionRegistry } from './registry.js';

type Infer<T extends z.ZodType> = z.infer<T>;
type ServersReply = { resource: DbResource; origin: 'config' | 'dynamic'; servers: Array<{ host_id: string }> };

/** What a session asks for, once the user's certificate is verified. */
interface SessionRequest {
  identity: UserIdentity;
  db_service: string;
  db_user: string;
  db_name: string;
  db_roles?: string[];
  client_addr: string;
}

/** The fields every event of a session repeats (its start's, copied onto an end the broker records). */
const SESSION_METADATA: Array<keyof SessionMetadata> = [
  'cluster_name',
  'sid',
  'user',
  'server_id',
  'addr.remote',
  'db_service',
  'db_protocol',
  'db_uri',
  'db_name',
  'db_user',
  'db_roles',
  'db_type',
  'db_origin',
  'user_agent',
];

type Decision = { allowed: true; grant: Omit<DataPlane.SessionGrant, 'expires' | 'cluster_name'> } | { allowed: false; message: string };

/**
 * Decides whether a session may start, assigns its id and the Database Services that may serve it,
 * confirms it when one of them asks, and keeps the registry of live sessions that cancel requests,
 * locks and revocations use.
 */
export class SessionsService {
  private readonly logger = new Logger('broker');

  constructor(
    private readonly view: BrokerView,
    private readonly projection: Projection,
    private readonly inventory: RpcClient,
    private readonly serving: KvIndex<ServedDb>,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly nc: NatsConnection,
    private readonly registry: SessionRegistry,
  ) {}

  /** The proxy's question: may this client's session start, and who serves it? */
  async authorize(req: Infer<typeof DataPlane.AuthorizeRequest>): Promise<DataPlane.AuthorizeReply> {
    // The database the certificate names is looked up while the projection catches up; only the
    // certificate as verified after that decides.
    const named = this.namedDatabase(req.user_cert);
    const lookup = named === undefined ? undefined : this.dbServers(named);
    await this.projection.sync();
    const identity = this.verifiedUser(req.user_cert);
    const route = identity.dbRoute;
    if (!route) throw new AccessDeniedError("the certificate names no database: run 'tsh db login <database>' first");
    const request: SessionRequest = {
      identity,
      db_service: route.serviceName,
      db_user: req.db_user,
      db_name: req.db_name,
      ...(route.roles?.length ? { db_roles: route.roles } : {}),
      client_addr: req.client_addr,
    };
    const db = await (lookup && named === route.serviceName ? lookup : this.dbServers(route.serviceName));
    const sid = randomUUID();
    const decision = this.decide(request, db);
    if (!decision.allowed) {
      await this.denied(sid, request, db, decision.message);
      throw new AccessDeniedError(decision.message);
    }
    const servers = shuffle(db.servers.map((s) => s.host_id));
    if (!servers.length) {
      throw new ConnectionProblemError(
        `database "${request.db_service}" is not served by any running Database Service; start one with 'teleport db start'`,
      );
    }
    await this.registry.put({
      ...this.entryOf(sid, request, db),
      state: 'assigned',
      hosts: servers,
      expires: new Date(Math.min(Date.now() + ASSIGNMENT_TTL_MS, identity.expires.getTime())).toISOString(),
    });
    return { sid, servers };
  }

  /**
   * A Database Service was handed a session and asks before serving it. It must be one the session was
   * assigned to, for the same certificate, user and database; access is decided again on the roles as
   * they are now. The proxy's word counts for nothing here.
   */
  async start(sender: BusIdentity, req: Infer<typeof DataPlane.SessionsStartRequest>): Promise<DataPlane.SessionGrant> {
    if (sender.role !== BusRole.Db) throw new AccessDeniedError('only Database Services start sessions');
    // Three reads at once: the projection catching up, the session's entry and the database.
    const lookup = this.dbServers(req.db_service);
    const [, entry] = await Promise.all([this.projection.sync(), this.registry.get(req.sid)]);
    const identity = this.verifiedUser(req.user_cert);
    const request: SessionRequest = {
      identity,
      db_service: req.db_service,
      db_user: req.db_user,
      db_name: req.db_name,
      ...(identity.dbRoute?.roles?.length ? { db_roles: identity.dbRoute.roles } : {}),
      client_addr: '',
    };
    // The same request again (the Database Service sends it again when its connection to NATS came back
    // before an answer did): answered as the first was, with nothing recorded or changed a second time.
    const repeated =
      entry?.state === 'live' && entry.hosts.length === 1 && entry.hosts[0] === sender.id && entry.cancel_secret === req.cancel_secret;
    const mismatch = !entry
      ? 'no such session was authorized'
      : entry.state !== 'assigned' && !repeated
        ? 'the session was already started'
        : !entry.hosts.includes(sender.id)
          ? 'the session was not assigned to this Database Service'
          : entry.cert !== identity.fingerprint || entry.db_service !== req.db_service
            ? 'the session was authorized for another certificate or database'
            : entry.db_user !== req.db_user || entry.db_name !== req.db_name
              ? 'the session was authorized for another database user or name'
              : undefined;
    const db = await lookup;
    if (mismatch) {
      const message = `${mismatch}; the Database Service refused it`;
      this.logger.warn({ sid: req.sid, message: `from ${sender.id}: ${message}` });
      await this.denied(req.sid, { ...request, client_addr: entry?.client_addr ?? '' }, db, message);
      throw new AccessDeniedError(message);
    }
    const decision = this.decide(request, db);
    if (!decision.allowed) {
      // A repeat refused now (the roles changed in between) leaves the live entry to revoke(), which
      // ends the session if the first answer let it start.
      if (repeated) throw new AccessDeniedError(decision.message);
      await this.denied(req.sid, { ...request, client_addr: entry!.client_addr }, db, decision.message);
      await this.registry.remove(req.sid);
      throw new AccessDeniedError(decision.message);
    }
    if (!repeated)
      await this.registry.put({
        ...entry!,
        state: 'live',
        hosts: [sender.id],
        cancel_secret: req.cancel_secret,
        db_labels: db.resource.metadata.labels ?? {},
        ...(decision.grant.auto_user ? { auto_user: decision.grant.auto_user, admin_user: db.resource.spec.admin_user?.name } : {}),
        expires: identity.expires.toISOString(),
      });
    return { ...decision.grant, cluster_name: this.view.clusterName, expires: identity.expires.toISOString() };
  }

  /** A session ended, or a restarted Database Service forgets all of its own. */
  async end(sender: BusIdentity, req: Infer<typeof DataPlane.SessionsEndRequest>): Promise<Record<string, never>> {
    const own = (e: SessionEntry) => e.hosts.length === 1 && e.hosts[0] === sender.id;
    if ('all' in req) {
      for (const entry of this.registry.live().filter(own)) await this.registry.remove(entry.sid);
    } else {
      const entry = await this.registry.get(req.sid);
      if (entry && own(entry)) await this.registry.remove(req.sid);
    }
    return {};
  }

  /**
   * Ends the live sessions of Database Services that are gone (they died without saying so): each gets
   * the `db.session.end` its service could not write, then leaves the registry.
   */
  async forgetUnless(aliveHosts: Set<string>): Promise<void> {
    for (const entry of this.registry.live()) {
      if (aliveHosts.has(entry.hosts[0]!)) continue;
      await this.recordAbandoned(entry);
      await this.registry.remove(entry.sid);
    }
  }

  /**
   * The end of a session whose Database Service died, after the last event it stored: the same session
   * fields as its start, the next event index, its last event's time as the stop (the last sign of
   * life). Nothing when the service ended it before dying. One message id per session, so broker
   * replicas that both notice record it once.
   */
  private async recordAbandoned(entry: SessionEntry): Promise<void> {
    const lastOf = async (filter: string) => {
      const stored = await retryThroughFailover(() => this.jsm.streams.getMessage(Streams.Audit.name, { last_by_subj: filter }));
      try {
        return stored
          ? (stored.json<Record<string, unknown>>() as Record<string, unknown> & { ei: number; event: string; time: string })
          : undefined;
      } catch {
        // Not JSON: as if absent (the end is recorded from the registry's fields).
        return undefined;
      }
    };
    const last = await lastOf(auditSubject(entry.sid, '>'));
    if (last?.event === AuditEvent.SessionEnd) return;
    const start = await lastOf(auditSubject(entry.sid, AuditEvent.SessionStart));
    const meta = start
      ? Object.fromEntries(SESSION_METADATA.filter((k) => k in start).map((k) => [k, start[k]]))
      : {
          cluster_name: this.view.clusterName,
          sid: entry.sid,
          user: entry.user,
          server_id: entry.hosts[0],
          'addr.remote': entry.client_addr,
        };
    const message = `the Database Service ${entry.hosts[0]} serving the session stopped answering; the session ended with it`;
    const event = {
      ...meta,
      ei: (last?.ei ?? 0) + 1,
      event: AuditEvent.SessionEnd,
      uid: randomUUID(),
      code: AuditCode[AuditEvent.SessionEnd],
      time: new Date().toISOString(),
      ...(start ? { session_start: start.time } : {}),
      session_stop: last?.time ?? new Date().toISOString(),
      message,
    };
    await this.js.publish(auditSubject(entry.sid, AuditEvent.SessionEnd), JSON.stringify(event), {
      msgID: `${entry.sid}.abandoned`,
      retries: PUBLISH_RETRIES,
    });
    this.logger.warn({ sid: entry.sid, message });
  }

  /** A live session as registered: for the Database Service serving it, and for provisioning, which checks its requests against it. */
  async get(sender: BusIdentity, sid: string): Promise<SessionEntry> {
    const entry = await this.registry.get(sid);
    const mayRead = sender.role === BusRole.Provisioning || entry?.hosts.includes(sender.id);
    if (!entry || entry.state !== 'live' || !mayRead) throw new NotFoundError(`session ${sid} is not live here`);
    return entry;
  }

  /** Sends a CancelRequest to the Database Service that gave out its secret; the process id is checked there. */
  cancel(req: Infer<typeof DataPlane.CancelRequest>): Record<string, never> {
    for (const entry of this.registry.live()) {
      if (entry.cancel_secret === req.secret_key) this.nc.publish(cancelSubject(entry.hosts[0]!), JSON.stringify(req));
    }
    return {};
  }

  /**
   * Live sessions that may no longer run: their user was deleted, or their roles (as they are now) no
   * longer allow them. Each is ended by its Database Service.
   */
  revoke(): void {
    for (const entry of this.registry.live()) {
      const reason = this.revocationOf(entry);
      if (!reason) continue;
      this.logger.log(`ending session ${entry.sid} of ${entry.user}: ${reason}`);
      this.nc.publish(terminateSubject(entry.hosts[0]!), JSON.stringify({ sid: entry.sid, message: reason }));
    }
  }

  private revocationOf(entry: SessionEntry): string | undefined {
    if (!this.view.users.has(entry.user)) return `your Teleport user "${entry.user}" was deleted`;
    const lock = lockInForce(this.view.locks.values(), { user: entry.user, roles: entry.roles }, new Date());
    if (lock) return lockInForceMessage(lock);
    const decision = decideDbAccess(this.view.resolve(entry.roles), entry.traits, {
      dbLabels: entry.db_labels ?? {},
      dbUser: entry.db_user,
      dbName: entry.db_name,
      autoCreateUser: provisioningOn(this.view.resolve(entry.roles), entry.traits, entry.db_labels ?? {}),
    });
    return decision.allowed ? undefined : `${decision.message} (your roles changed during the session)`;
  }

  /** The database and the Database Services serving it; a rejection not awaited is not reported as unhandled. */
  /**
   * Database `name` and the live Database Services serving it, from the registrations the broker
   * follows as the inventory does: no request on a connection's path. With none live, the inventory
   * says what the database is, if anything.
   */
  private dbServers(name: string): Promise<ServersReply> {
    const served = servedBy(this.serving.values(), name);
    if (served) return Promise.resolve(served);
    const reply = this.inventory.call<ServersReply>(Rpc.Inventory.DbServers, { name });
    reply.catch(() => undefined);
    return reply;
  }

  /** The database a certificate names as the projection saw it so far, to look it up early; nothing is decided on it. */
  private namedDatabase(certPem: string): string | undefined {
    try {
      return verifyUserCert(certPem, this.view.userCaCerts).dbRoute?.serviceName;
    } catch {
      return undefined;
    }
  }

  private verifiedUser(certPem: string): UserIdentity & { fingerprint: string } {
    const identity = verifyUserCert(certPem, this.view.userCaCerts);
    if (!this.view.users.has(identity.username)) throw new AccessDeniedError(`user "${identity.username}" does not exist in this cluster`);
    return identity;
  }

  private decide(req: SessionRequest, db: ServersReply): Decision {
    const { identity } = req;
    // Locks apply to the user and to the roles of the certificate, as in Teleport.
    const lock = lockInForce(this.view.locks.values(), { user: identity.username, roles: identity.roles }, new Date());
    if (lock) return { allowed: false, message: lockInForceMessage(lock) };
    const roles = this.view.resolve(identity.roles);
    const dbLabels = db.resource.metadata.labels ?? {};
    const decision = decideDbAccess(roles, identity.traits, {
      dbLabels,
      dbUser: req.db_user,
      dbName: req.db_name,
      autoCreateUser: provisioningOn(roles, identity.traits, dbLabels),
    });
    if (!decision.allowed) return decision;
    let autoUser;
    try {
      autoUser = decideAutoUser(roles, identity.traits, db.resource, {
        user: identity.username,
        db_user: req.db_user,
        ...(req.db_roles ? { db_roles: req.db_roles } : {}),
      });
    } catch (err) {
      if (err instanceof AccessDeniedError) return { allowed: false, message: err.message };
      throw err;
    }
    // An option, like max_session_ttl: any of the user's roles may set it, whichever granted the access.
    const recording = resultRecording(roles);
    return {
      allowed: true,
      grant: {
        user: identity.username,
        matched_roles: decision.matchedRoles,
        db_origin: db.origin,
        ...(recording ? { record_results: recording } : {}),
        ...(autoUser ? { auto_user: autoUser } : {}),
      },
    };
  }

  private entryOf(sid: string, req: SessionRequest, db: ServersReply): Omit<SessionEntry, 'state' | 'hosts' | 'expires'> {
    return {
      sid,
      cert: (req.identity as UserIdentity & { fingerprint: string }).fingerprint,
      user: req.identity.username,
      roles: req.identity.roles,
      traits: req.identity.traits,
      db_service: req.db_service,
      db_user: req.db_user,
      db_name: req.db_name,
      ...(req.db_roles ? { db_roles: req.db_roles } : {}),
      db_labels: db.resource.metadata.labels ?? {},
      client_addr: req.client_addr,
    };
  }

  /** A refused start is an audit event too (TDB00W), with Teleport's message. */
  private async denied(sid: string, req: SessionRequest, db: ServersReply, message: string): Promise<void> {
    const event = sessionStartFailed(
      {
        cluster_name: this.view.clusterName,
        sid,
        user: req.identity.username,
        'addr.remote': req.client_addr,
        db_service: req.db_service,
        db_uri: db.resource.spec.uri,
        db_name: req.db_name,
        db_user: req.db_user,
        db_roles: [],
        db_type: databaseType(db.resource.spec),
        db_origin: db.origin,
      },
      message,
    );
    await this.js.publish(auditSubject(sid, AuditEvent.SessionStart), JSON.stringify(event), {
      msgID: event.uid,
      retries: PUBLISH_RETRIES,
    });
  }
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
