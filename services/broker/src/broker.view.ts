import {
  Aggregate,
  parseClusterSubject,
  type CertAuthorityEvents,
  type EventEnvelope,
  type LockEvents,
  type RoleEvents,
  type UserEvents,
} from '#libs/events';
import type { Lock, Role } from '#libs/rbac';

/** The broker's read model: current role definitions, locks, which users exist, the user CA, the cluster name. */
export class BrokerView {
  readonly roles = new Map<string, Role>();
  readonly locks = new Map<string, Lock>();
  readonly users = new Set<string>();
  userCaCerts: string[] = [];
  clusterName = '';
  /** Called after each commit with the aggregate it changed, to re-check live sessions. */
  onChange: (aggregate: string, id: string) => void = () => {};

  apply(subject: string, commit: EventEnvelope[]): void {
    const parsed = parseClusterSubject(subject);
    if (!parsed) return;
    switch (parsed.aggregate) {
      case Aggregate.Role:
        for (const event of commit as unknown as RoleEvents[]) {
          if (event.type === 'role.upserted') this.roles.set(parsed.id, event.data.role as Role);
          else this.roles.delete(parsed.id);
        }
        break;
      case Aggregate.Lock:
        for (const event of commit as unknown as LockEvents[]) {
          if (event.type === 'lock.upserted') this.locks.set(parsed.id, event.data.lock as Lock);
          else this.locks.delete(parsed.id);
        }
        break;
      case Aggregate.User:
        for (const event of commit as unknown as UserEvents[]) {
          if (event.type === 'user.created') this.users.add(parsed.id);
          else if (event.type === 'user.deleted') this.users.delete(parsed.id);
        }
        break;
      case Aggregate.CertAuthority:
        for (const event of commit as unknown as CertAuthorityEvents[]) {
          if (event.data.type === 'user') this.userCaCerts = [...this.userCaCerts, event.data.cert_pem];
          if (event.data.type === 'host') this.clusterName = event.data.cluster_name;
        }
        break;
      default:
        return;
    }
    this.onChange(parsed.aggregate, parsed.id);
  }

  /** The roles that exist among `names`: a role deleted since the certificate was issued grants nothing. */
  resolve(names: string[]): Role[] {
    return names.flatMap((n) => {
      const role = this.roles.get(n);
      return role ? [role] : [];
    });
  }
}
