import { z } from 'zod';
import { BadParameterError } from '#libs/common';

// Teleport's `kind: lock` (version v2): a lock on a user or a role refuses new sessions and
// certificates while it is in force, i.e. until `spec.expires` when set, else until it is deleted.

export interface LockTarget {
  user?: string;
  role?: string;
}

export interface Lock {
  kind: 'lock';
  version: 'v2';
  metadata: { name: string; description?: string };
  spec: {
    target: LockTarget;
    /** Shown to locked-out users after Teleport's `lock targeting ... is in force: `. */
    message?: string;
    /** RFC 3339; the lock is in force before this time only. */
    expires?: string;
    /** Set by the auth service from the caller's certificate. */
    created_at?: string;
    created_by?: string;
  };
}

/** Targets Teleport locks that have no meaning here (no SSH logins, nodes, desktops, devices, bots). */
const OTHER_TARGETS = [
  'login',
  'node',
  'mfa_device',
  'windows_desktop',
  'access_request',
  'device',
  'server_id',
  'bot_instance_id',
  'join_token',
] as const;

const LOCK_NAME = /^[A-Za-z0-9._@-]{1,128}$/;
const TARGET_NAME = z.string().min(1, 'must not be empty').max(256, 'at most 256 characters');

const rfc3339 = z.iso
  .datetime({ offset: true, error: 'expected an RFC 3339 time, like 2030-01-02T15:04:05Z' })
  .transform((s) => new Date(s).toISOString());

export const LockSchema: z.ZodType<Lock> = z.strictObject({
  kind: z.literal('lock', {
    error: (iss) => (iss.input === undefined ? 'required (set kind: lock)' : `must be "lock", got ${JSON.stringify(iss.input)}`),
  }),
  version: z.literal('v2', {
    error: (iss) => (iss.input === undefined ? 'required (set version: v2)' : `unsupported version ${JSON.stringify(iss.input)} (use v2)`),
  }),
  metadata: z.strictObject({
    name: z.string().regex(LOCK_NAME, {
      error: (iss) =>
        iss.input === undefined
          ? 'required'
          : `${JSON.stringify(iss.input)} is not a valid lock name: use 1 to 128 letters, digits, ".", "_", "@" or "-"`,
    }),
    description: z.string().max(1024).optional(),
  }),
  spec: z.strictObject({
    target: z
      .strictObject({ user: TARGET_NAME.optional(), role: TARGET_NAME.optional() })
      .refine((t) => t.user !== undefined || t.role !== undefined, 'at least one target field must be set (user or role)'),
    message: z.string().max(4096, 'at most 4096 characters').optional(),
    expires: rfc3339.optional(),
    created_at: rfc3339.optional(),
    created_by: z.string().max(256).optional(),
  }),
});

function formatPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** Validates a lock resource (parsed YAML or JSON). */
export function parseLock(input: unknown): Lock {
  const target = (input as { spec?: { target?: unknown } } | null)?.spec?.target;
  const other = target && typeof target === 'object' ? OTHER_TARGETS.find((key) => key in target) : undefined;
  if (other) {
    throw new BadParameterError(`invalid lock: spec.target.${other}: locks on a ${other} are not supported here; lock a user or a role`);
  }
  const result = LockSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const problem =
    issue.code === 'unrecognized_keys'
      ? 'unknown field'
      : issue.code === 'invalid_type' && issue.input === undefined
        ? 'required'
        : issue.message;
  throw new BadParameterError(`invalid lock: ${path.length ? `${formatPath(path)}: ` : ''}${problem}`);
}

/** Whether the lock is in force at `now`: always without `expires`, before it otherwise. */
export function isInForce(lock: Lock, now: Date): boolean {
  return lock.spec.expires === undefined || now.getTime() < Date.parse(lock.spec.expires);
}

/**
 * The first lock in force that targets the user or any of the roles (those of the certificate), as
 * Teleport matches locks: a lock naming a user and a role applies to that user and to that role's holders.
 */
export function lockInForce(locks: Iterable<Lock>, who: { user: string; roles: readonly string[] }, now: Date): Lock | undefined {
  for (const lock of locks) {
    if (!isInForce(lock, now)) continue;
    const { user, role } = lock.spec.target;
    if ((user !== undefined && user === who.user) || (role !== undefined && who.roles.includes(role))) return lock;
  }
  return undefined;
}

/** The target as Teleport prints it (protobuf text of LockTarget): `User:"alice" Role:"contractor"`. */
export function formatLockTarget(target: LockTarget): string {
  return [
    target.user !== undefined ? `User:${JSON.stringify(target.user)}` : '',
    target.role !== undefined ? `Role:${JSON.stringify(target.role)}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** What a locked-out user is told, in Teleport's words: `lock targeting User:"alice" is in force: <message>`. */
export function lockInForceMessage(lock: Lock): string {
  const text = `lock targeting ${formatLockTarget(lock.spec.target)} is in force`;
  return lock.spec.message ? `${text}: ${lock.spec.message}` : text;
}
