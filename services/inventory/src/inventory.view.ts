import { Aggregate, parseClusterSubject, type DbEvents, type EventEnvelope } from '#libs/events';
import { dbDecider, type DbState } from './db.decider.js';

/** Inventory's read model: database resources, and the cluster name (from the host CA) for audit events. */
export class InventoryView {
  readonly dbs = new Map<string, DbState>();
  clusterName = '';

  apply(subject: string, commit: EventEnvelope[]): void {
    const parsed = parseClusterSubject(subject);
    if (parsed?.aggregate === Aggregate.Db) {
      const events = commit as unknown as DbEvents[];
      this.dbs.set(parsed.id, events.reduce(dbDecider.evolve, this.dbs.get(parsed.id) ?? dbDecider.initialState()));
    } else if (parsed?.aggregate === Aggregate.CertAuthority && parsed.id === 'host') {
      const data = commit[0]?.data as { cluster_name?: string } | undefined;
      if (data?.cluster_name) this.clusterName = data.cluster_name;
    }
  }
}
