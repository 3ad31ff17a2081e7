import type { Role } from './role.js';
import { applyTraits, type Traits } from './traits.js';

function holds(values: string[] | undefined, value: string): boolean {
  return values !== undefined && (values.includes(value) || values.includes('*'));
}

/** Whether the roles allow impersonating `systemRole` (allow.impersonate.roles holds it or `*`) and none deny it. */
export function canImpersonateRole(roles: Role[], traits: Traits, systemRole: string): boolean {
  const expanded = roles.map((role) => applyTraits(role, traits));
  if (expanded.some((role) => holds(role.spec.deny.impersonate?.roles, systemRole))) return false;
  return expanded.some((role) => holds(role.spec.allow.impersonate?.roles, systemRole));
}
