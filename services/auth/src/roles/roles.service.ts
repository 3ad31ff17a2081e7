import { NotFoundError } from '#libs/common';
import { Aggregate, clusterSubject } from '#libs/events';
import type { EventStore, Projection } from '#libs/eventstore';
import { BUILTIN_ROLES, parseRole, type Role } from '#libs/rbac';
import type { AuthView } from '../auth.view.js';
import { roleDecider } from './role.decider.js';

export class RolesService {
  constructor(
    private readonly store: EventStore,
    private readonly view: AuthView,
    private readonly projection: Projection,
  ) {}

  /** Seeds the built-in roles once; later edits by administrators stay. */
  async ensureBuiltins(): Promise<void> {
    for (const role of BUILTIN_ROLES) {
      await this.store.handle(clusterSubject(Aggregate.Role, role.metadata.name), roleDecider, {
        type: 'upsert',
        role,
        builtin: true,
        mustNotExist: false,
      });
    }
  }

  async upsert(input: unknown, mustNotExist: boolean): Promise<{ role: Role; created: boolean }> {
    const role = parseRole(input);
    const { previous } = await this.store.handle(clusterSubject(Aggregate.Role, role.metadata.name), roleDecider, {
      type: 'upsert',
      role,
      builtin: false,
      mustNotExist,
    });
    return { role, created: !previous.role };
  }

  async list(): Promise<Role[]> {
    await this.projection.sync();
    return [...this.view.roles.values()]
      .flatMap((s) => (s.role ? [s.role] : []))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  async get(name: string): Promise<Role> {
    await this.projection.sync();
    const role = this.view.roles.get(name)?.role;
    if (!role) throw new NotFoundError(`role "${name}" not found`);
    return role;
  }

  /** The roles that exist among `names`, in order; a role deleted since a certificate was issued grants nothing. */
  resolve(names: string[]): Role[] {
    return names.flatMap((n) => {
      const role = this.view.roles.get(n)?.role;
      return role ? [role] : [];
    });
  }

  async requireExisting(names: string[]): Promise<void> {
    await this.projection.sync();
    const missing = names.filter((n) => !this.view.roles.get(n)?.role);
    if (missing.length) throw new NotFoundError(`role ${missing.map((n) => `"${n}"`).join(', ')} not found; see 'tctl get roles'`);
  }

  async delete(name: string): Promise<void> {
    await this.projection.sync();
    const usedBy = [...this.view.users.values()].filter((u) => u.exists && u.roles.includes(name)).map((u) => u.name);
    await this.store.handle(clusterSubject(Aggregate.Role, name), roleDecider, { type: 'delete', name, usedBy });
  }
}
