import { verifyCaller } from '#libs/pki';
import { randomUUID } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { NotFoundError } from '#libs/common';
import { Aggregate, AuditCode, AuditEvent, auditSubject, clusterSubject, NO_SESSION, type DbResourceAuditEvent } from '#libs/events';
import { PUBLISH_RETRIES, type EventStore, type Projection } from '#libs/eventstore';
import { dbDecider } from './db.decider.js';
import type { KvIndex } from '#libs/bus';
import { servedBy, type ServedDb } from './served-db.js';
import type { InventoryView } from './inventory.view.js';
import { parseDbResource, type DbResource } from '#libs/config';
import { matchLabels, type LabelSelector } from '#libs/rbac';

export class DbsService {
  constructor(
    private readonly store: EventStore,
    private readonly js: JetStreamClient,
    private readonly view: InventoryView,
    private readonly projection: Projection,
    private readonly serving: KvIndex<ServedDb>,
  ) {}

  /** The name of who asked, from the certificate the proxy forwarded (verified against the cluster's CAs). */
  caller(certPem: string): string {
    return verifyCaller(certPem, this.view.cas).name;
  }

  async upsert(actor: string, input: unknown, mustNotExist: boolean): Promise<{ resource: DbResource; created: boolean }> {
    const resource = parseDbResource(input);
    const { previous } = await this.store.handle(clusterSubject(Aggregate.Db, resource.metadata.name), dbDecider, {
      type: 'upsert',
      resource,
      mustNotExist,
    });
    await this.audit(previous.resource ? AuditEvent.DbUpdate : AuditEvent.DbCreate, actor, resource);
    return { resource, created: !previous.resource };
  }

  async delete(actor: string, name: string): Promise<void> {
    const { previous } = await this.store.handle(clusterSubject(Aggregate.Db, name), dbDecider, { type: 'delete', name });
    await this.audit(AuditEvent.DbDelete, actor, previous.resource!);
  }

  /** Dynamic databases and those live Database Services serve; a served one wins over a dynamic one of the same name. */
  async list(): Promise<DbResource[]> {
    await this.projection.sync();
    const byName = new Map<string, DbResource>();
    for (const state of this.view.dbs.values()) if (state.resource) byName.set(state.resource.metadata.name, state.resource);
    for (const server of this.serving.values()) byName.set(server.resource.metadata.name, server.resource);
    return [...byName.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  /** The dynamic databases (`tctl create`) whose labels one of `selectors` matches, by name. */
  async matching(selectors: LabelSelector[]): Promise<DbResource[]> {
    await this.projection.sync();
    return [...this.view.dbs.values()]
      .flatMap((state) => (state.resource ? [state.resource] : []))
      .filter((db) => selectors.some((selector) => matchLabels(selector, db.metadata.labels ?? {})))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  /** A database and the live Database Services serving it. */
  async serversOf(name: string): Promise<{ resource: DbResource; origin: 'config' | 'dynamic'; servers: Array<{ host_id: string }> }> {
    return servedBy(this.serving.values(), name) ?? { resource: await this.get(name), origin: 'dynamic', servers: [] };
  }

  async get(name: string): Promise<DbResource> {
    await this.projection.sync();
    const resource = this.view.dbs.get(name)?.resource;
    if (!resource) throw new NotFoundError(`db "${name}" not found`);
    return resource;
  }

  private async audit(event: AuditEvent, user: string, db: DbResource): Promise<void> {
    const body: DbResourceAuditEvent = {
      ei: 0,
      event,
      uid: randomUUID(),
      code: AuditCode[event],
      time: new Date().toISOString(),
      cluster_name: this.view.clusterName,
      user,
      name: db.metadata.name,
      db_protocol: db.spec.protocol,
      db_uri: db.spec.uri,
      db_labels: db.metadata.labels ?? {},
    };
    await this.js.publish(auditSubject(NO_SESSION, event), JSON.stringify(body), { msgID: body.uid, retries: PUBLISH_RETRIES });
  }
}
