import { parseDuration } from '#libs/common';
import { evaluateSelector, type Labels } from './labels.js';
import type { CreateDbUserMode, ResultRecording, Role } from './role.js';
import { applyTraits, type Traits } from './traits.js';

export const DEFAULT_MAX_SESSION_TTL_MS = 12 * 3_600_000;

/** The shortest max_session_ttl among the roles; 12h when none sets it. */
export function maxSessionTtlMs(roles: Role[]): number {
  const ttls = roles.flatMap((role) => {
    const ttl = role.spec.options.max_session_ttl;
    return ttl === undefined ? [] : [parseDuration(ttl)];
  });
  return ttls.length === 0 ? DEFAULT_MAX_SESSION_TTL_MS : Math.min(...ttls);
}

/** Whether the role turns database user provisioning on. */
export function provisions(role: Role): boolean {
  const mode = role.spec.options.create_db_user_mode;
  return mode !== undefined && mode !== 'off';
}

const MODE_RANK: Record<CreateDbUserMode, number> = { off: 0, keep: 1, best_effort_drop: 2 };

/**
 * Whether sessions to a database provision their user, and how it is torn down: the strongest
 * create_db_user_mode among the roles whose allow labels match the database (best_effort_drop over keep).
 */
export function createDbUserMode(roles: Role[], traits: Traits, dbLabels: Labels): CreateDbUserMode {
  let mode: CreateDbUserMode = 'off';
  for (const role of roles.filter(provisions)) {
    if (evaluateSelector(applyTraits(role, traits).spec.allow.db_labels, dbLabels) !== 'match') continue;
    const candidate = role.spec.options.create_db_user_mode!;
    if (MODE_RANK[candidate] > MODE_RANK[mode]) mode = candidate;
  }
  return mode;
}

/** How much of each result the session records: the most any of the roles asks for; none when no role does. */
export function resultRecording(roles: Role[]): ResultRecording | undefined {
  const asked = roles.flatMap((role) => (role.spec.options.record_query_results ? [role.spec.options.record_query_results] : []));
  if (!asked.length) return undefined;
  return {
    max_rows: Math.max(...asked.map((r) => r.max_rows)),
    max_value_length: Math.max(...asked.map((r) => r.max_value_length)),
  };
}
