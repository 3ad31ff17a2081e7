import { randomInt, randomUUID } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { AccessDeniedError, ConnectionProblemError } from '#libs/common';
import type { RpcClient } from '#libs/bus';
import { databaseType, type DbResource } from '#libs/config';
import { AuditEvent, auditSubject, DataPlane, Rpc, SESSION_START_FAILED_CODE } from '#libs/events';
import type { Projection } from '#libs/eventstore';
import { decideDbAccess, lockInForce, lockInForceMessage, resultRecording } from '#libs/rbac';

import { decideAutoUser, provisioningOn } from './auto-user.js';
import type { BrokerView } from './broker.view.js';

type AuthorizeRequest = import('zod').infer<typeof DataPlane.AuthorizeRequest>;
type ServersReply = { resource: DbResource; origin: 'config' | 'dynamic'; servers: Array<{ host_id: string; addr: string }> };

export function dbType(resource: DbResource): string {
  return databaseType(resource.spec);
}

/** Decides whether a session may start, assigns its id and picks a Database Service for it. */
export class SessionsService {
  constructor(
    private readonly view: BrokerView,
    private readonly projection: Projection,
    private readonly inventory: RpcClient,
    private readonly js: JetStreamClient,
  ) {}

  async authorize(req: AuthorizeRequest): Promise<DataPlane.AuthorizeReply> {
    await this.projection.sync();
    const db = await this.inventory.call<ServersReply>(Rpc.Inventory.DbServers, { name: req.db_service });
    const sid = randomUUID();
    // Locks apply to the user and to the roles of the certificate, as in Teleport.
    const lock = lockInForce(this.view.locks.values(), { user: req.user, roles: req.roles }, new Date());
    if (lock) {
      const message = lockInForceMessage(lock);
      await this.denied(sid, req, db, message);
      throw new AccessDeniedError(message);
    }
    const roles = this.view.resolve(req.roles);
    const dbLabels = db.resource.metadata.labels ?? {};
    const decision = decideDbAccess(roles, req.traits, {
      dbLabels,
      dbUser: req.db_user,
      dbName: req.db_name,
      autoCreateUser: provisioningOn(roles, req.traits, dbLabels),
    });
    if (!decision.allowed) {
      await this.denied(sid, req, db, decision.message);
      throw new AccessDeniedError(decision.message);
    }
    let autoUser;
    try {
      autoUser = decideAutoUser(roles, req.traits, db.resource, req);
    } catch (err) {
      if (err instanceof AccessDeniedError) await this.denied(sid, req, db, err.message);
      throw err;
    }
    const server = db.servers[randomInt(db.servers.length || 1)];
    if (!server) {
      throw new ConnectionProblemError(
        `database "${req.db_service}" is not served by any running Database Service; start one with 'teleport db start'`,
      );
    }
    // An option, like max_session_ttl: any of the user's roles may set it, whichever granted the access.
    const recording = resultRecording(this.view.resolve(req.roles));
    return {
      sid,
      cluster_name: this.view.clusterName,
      server,
      matched_roles: decision.matchedRoles,
      db_uri: db.resource.spec.uri,
      db_type: dbType(db.resource),
      db_origin: db.origin,
      ...(recording ? { record_results: recording } : {}),
      ...(autoUser ? { auto_user: autoUser } : {}),
    };
  }

  /** A refused start is an audit event too (TDB00W), with Teleport's message. */
  private async denied(sid: string, req: AuthorizeRequest, db: ServersReply, message: string): Promise<void> {
    const event = {
      ei: 0,
      event: AuditEvent.SessionStart,
      uid: randomUUID(),
      code: SESSION_START_FAILED_CODE,
      time: new Date().toISOString(),
      cluster_name: this.view.clusterName,
      sid,
      user: req.user,
      'addr.remote': req.client_addr,
      db_service: req.db_service,
      db_protocol: 'postgres',
      db_uri: db.resource.spec.uri,
      db_name: req.db_name,
      db_user: req.db_user,
      db_roles: [],
      db_type: dbType(db.resource),
      db_origin: db.origin,
      success: false,
      error: message,
      message,
    };
    await this.js.publish(auditSubject(sid, AuditEvent.SessionStart), JSON.stringify(event), { msgID: event.uid });
  }
}
