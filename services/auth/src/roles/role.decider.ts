import { AlreadyExistsError, BadParameterError, NotFoundError } from '#libs/common';
import type { RoleEvents } from '#libs/events';
import type { Decider } from '#libs/eventstore';
import type { Role } from '#libs/rbac';

export interface RoleState {
  role?: Role;
  builtin: boolean;
}

export type RoleCommand =
  /** `mustNotExist`: `tctl create` without -f. */
  | { type: 'upsert'; role: Role; builtin: boolean; mustNotExist: boolean }
  /** `usedBy`: users holding the role, looked up by the caller. */
  | { type: 'delete'; name: string; usedBy: string[] };

export const roleDecider: Decider<RoleCommand, RoleState, RoleEvents> = {
  initialState: () => ({ builtin: false }),

  evolve(state, event) {
    switch (event.type) {
      case 'role.upserted':
        return { role: event.data.role as Role, builtin: event.data.builtin };
      case 'role.deleted':
        return { builtin: false };
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'upsert':
        if (state.role && command.mustNotExist) {
          throw new AlreadyExistsError(`role "${command.role.metadata.name}" already exists; use 'tctl create -f' to overwrite it`);
        }
        // Built-in roles are created once; a restart never overwrites an administrator's edits.
        if (state.role && command.builtin) return [];
        return [{ type: 'role.upserted', data: { role: command.role, builtin: command.builtin } }];
      case 'delete':
        if (!state.role) throw new NotFoundError(`role "${command.name}" not found`);
        if (command.usedBy.length) {
          throw new BadParameterError(
            `role "${command.name}" is still assigned to ${command.usedBy.map((u) => `"${u}"`).join(', ')}; remove it from them first (tctl users update --set-roles)`,
          );
        }
        return [{ type: 'role.deleted', data: {} }];
    }
  },
};
