import { Aggregate, parseClusterSubject, type EventEnvelope, type RoleEvents } from '#libs/events';
import type { Role } from '#libs/rbac';

/** The broker's read model: current role definitions, and the cluster name. */
export class BrokerView {
  readonly roles = new Map<string, Role>();
  clusterName = '';

  apply(subject: string, commit: EventEnvelope[]): void {
    const parsed = parseClusterSubject(subject);
    if (parsed?.aggregate === Aggregate.Role) {
      for (const event of commit as unknown as RoleEvents[]) {
        if (event.type === 'role.upserted') this.roles.set(parsed.id, event.data.role as Role);
        else this.roles.delete(parsed.id);
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
