export { matchLabels, type LabelSelector, type Labels } from './labels.js';
export { type Traits } from './template.js';
export { applyTraits } from './traits.js';
export {
  CREATE_DB_USER_MODES,
  ROLE_VERSIONS,
  RoleSchema,
  parseRole,
  type CreateDbUserMode,
  type ResultRecording,
  type Role,
  type RoleConditions,
  type RoleVersion,
} from './role.js';
export {
  ACCESS_DENIED_MESSAGE,
  allowedDbNames,
  allowedDbRoles,
  allowedDbUsers,
  canSeeDb,
  dbPermissions,
  type DbPermissionRule,
  decideDbAccess,
  type AccessDecision,
  type DbAccessRequest,
} from './access.js';
export { VERBS, checkRule, sessionAccess, type Verb } from './rules.js';
export { canImpersonateRole } from './impersonate.js';
export { DEFAULT_MAX_SESSION_TTL_MS, createDbUserMode, maxSessionTtlMs, resultRecording } from './options.js';
export { BUILTIN_ROLES } from './builtin.js';
export { roleToYaml } from './role-yaml.js';
export { LockSchema, formatLockTarget, isInForce, lockInForce, lockInForceMessage, parseLock, type Lock, type LockTarget } from './lock.js';
export { lockToYaml } from './lock-yaml.js';
