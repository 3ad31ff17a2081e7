import { randomUUID } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { NotFoundError } from '#libs/common';
import { Aggregate, AuditCode, AuditEvent, auditSubject, clusterSubject, NO_SESSION, type DbResourceAuditEvent } from '#libs/events';
import type { EventStore, Projection } from '#libs/eventstore';
import { dbDecider } from './db.decider.js';
import type { InventoryView } from './inventory.view.js';
import { parseDbResource, type DbResource } from '#libs/config';

export class DbsService {
  constructor(
    private readonly store: EventStore,
    private readonly js: JetStreamClient,
    private readonly view: InventoryView,
    private readonly projection: Projection,
  ) {}

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

  async list(): Promise<DbResource[]> {
    await this.projection.sync();
    return [...this.view.dbs.values()]
      .flatMap((s) => (s.resource ? [s.resource] : []))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
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
    await this.js.publish(auditSubject(NO_SESSION, event), JSON.stringify(body), { msgID: body.uid });
  }
}
