import type { LabelSelector } from './labels.js';
import type { Role, RoleConditions } from './role.js';
import { expandTemplate, type Traits } from './template.js';

export type { Traits } from './template.js';

function expandList(values: string[] | undefined, traits: Traits): string[] | undefined {
  if (values === undefined) return undefined;
  return [...new Set(values.flatMap((value) => expandTemplate(value, traits)))];
}

// A key whose values all drop keeps an empty list, so the selector matches nothing rather than
// losing the key and matching more databases.
function expandSelector(selector: LabelSelector | undefined, traits: Traits): LabelSelector | undefined {
  if (selector === undefined) return undefined;
  const out: LabelSelector = {};
  for (const [key, value] of Object.entries(selector)) {
    const values = expandList(typeof value === 'string' ? [value] : value, traits)!;
    out[key] = typeof value === 'string' && values.length === 1 ? values[0]! : values;
  }
  return out;
}

function expandConditions(conditions: RoleConditions, traits: Traits): RoleConditions {
  const out: RoleConditions = { ...conditions };
  if (conditions.db_labels) out.db_labels = expandSelector(conditions.db_labels, traits);
  if (conditions.db_names) out.db_names = expandList(conditions.db_names, traits);
  if (conditions.db_users) out.db_users = expandList(conditions.db_users, traits);
  if (conditions.db_roles) out.db_roles = expandList(conditions.db_roles, traits);
  if (conditions.impersonate) {
    const { users, roles } = conditions.impersonate;
    out.impersonate = {
      ...(users && { users: expandList(users, traits) }),
      ...(roles && { roles: expandList(roles, traits) }),
    };
  }
  return out;
}

/** The role as it applies to one user: templates in db_* fields and impersonate lists expanded. */
export function applyTraits(role: Role, traits: Traits): Role {
  return {
    ...role,
    spec: {
      ...role.spec,
      allow: expandConditions(role.spec.allow, traits),
      deny: expandConditions(role.spec.deny, traits),
    },
  };
}
