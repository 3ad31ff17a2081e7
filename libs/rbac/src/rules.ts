import type { Role } from './role.js';

export const VERBS = ['list', 'read', 'create', 'update', 'delete'] as const;
export type Verb = (typeof VERBS)[number];

type Rule = { resources: string[]; verbs: string[] };

function grants(rules: Rule[] | undefined, resource: string, verb: Verb): boolean {
  return (rules ?? []).some(
    (rule) =>
      (rule.resources.includes(resource) || rule.resources.includes('*')) && (rule.verbs.includes(verb) || rule.verbs.includes('*')),
  );
}

/** Whether the roles let their holder perform `verb` on `resource` (role, user, db, token, session, event...). */
export function checkRule(roles: Role[], resource: string, verb: Verb): boolean {
  if (roles.some((role) => grants(role.spec.deny.rules, resource, verb))) return false;
  return roles.some((role) => grants(role.spec.allow.rules, resource, verb));
}

/**
 * Whose recorded sessions the roles let their holder see: everyone's with a rule allowing `verb` on
 * `session` (auditor, editor), none when a deny rule forbids it, otherwise only their own.
 */
export function sessionAccess(roles: Role[], verb: 'list' | 'read'): 'all' | 'own' | 'none' {
  if (roles.some((role) => grants(role.spec.deny.rules, 'session', verb))) return 'none';
  return roles.some((role) => grants(role.spec.allow.rules, 'session', verb)) ? 'all' : 'own';
}
