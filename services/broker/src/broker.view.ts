import { Aggregate, parseClusterSubject, type EventEnvelope, type LockEvents, type RoleEvents } from '#libs/events';
import type { Lock, Role } from '#libs/rbac';

/** The broker's read model: current role definitions, locks, and the cluster name. */
export class BrokerView {
  readonly roles = new Map<string, Role>();
  readonly locks = new Map<string, Lock>();
  clusterName = '';

  apply(subject: string, commit: EventEnvelope[]): void {
    const parsed = parseClusterSubject(subject);
    if (parsed?.aggregate === Aggregate.Role) {
      for (const event of commit as unknown as RoleEvents[]) {
        if (event.type === 'role.upserted') this.roles.set(parsed.id, event.data.role as Role);
        else this.roles.delete(parsed.id);
      }
    } else if (parsed?.aggregate === Aggregate.Lock) {
      for (const event of commit as unknown as LockEvents[]) {
        if (event.type === 'lock.upserted') this.locks.set(parsed.id, event.data.lock as Lock);
        else this.locks.delete(parsed.id);
      }
    } else if (parsed?.aggregate === Aggregate.CertAuthority && parsed.id === 'host') {
      const data = commit[0]?.data as { cluster_name?: string } | undefined;
      if (data?.cluster_name) this.clusterName = data.cluster_name;
    }
  }

  /** The roles that exist among `names`: a role deleted since the certificate was issued grants nothing. */
  resolve(names: string[]): Role[] {
    return names.flatMap((n) => {
      const role = this.roles.get(n);
      return role ? [role] : [];
    });
  }
}
