import { Aggregate, parseClusterSubject, type CertAuthorityEvents, type DbEvents, type EventEnvelope } from '#libs/events';
import { dbDecider, type DbState } from './db.decider.js';

/**
 * Inventory's read model: database resources, the cluster name (from the host CA) for audit events,
 * and the user and host CA certificates that prove who asked for a change.
 */
export class InventoryView {
  readonly dbs = new Map<string, DbState>();
  clusterName = '';
  readonly cas: { user: string[]; host: string[] } = { user: [], host: [] };

  apply(subject: string, commit: EventEnvelope[]): void {
    const parsed = parseClusterSubject(subject);
    if (parsed?.aggregate === Aggregate.Db) {
      const events = commit as unknown as DbEvents[];
      this.dbs.set(parsed.id, events.reduce(dbDecider.evolve, this.dbs.get(parsed.id) ?? dbDecider.initialState()));
    } else if (parsed?.aggregate === Aggregate.CertAuthority) {
      for (const event of commit as unknown as CertAuthorityEvents[]) {
        if (event.data.type === 'host') this.clusterName = event.data.cluster_name;
        if (event.data.type === 'host' || event.data.type === 'user') this.cas[event.data.type].push(event.data.cert_pem);
      }
    }
  }
}
