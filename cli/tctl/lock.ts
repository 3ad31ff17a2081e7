import { Option, type Command } from 'commander';
import { BadParameterError, parseDuration } from '#libs/common';
import type { Lock, LockTarget } from '#libs/rbac';
import { tctlClient, type TctlGlobals } from './credentials.js';

interface LockOptions {
  user?: string;
  role?: string;
  message?: string;
  expires?: string;
  ttl?: string;
}

/** Flags of Teleport's `tctl lock` for targets that do not exist here (no SSH logins, nodes, desktops, devices, bots). */
const OTHER_TARGET_FLAGS = [
  'login',
  'mfa-device',
  'windows-desktop',
  'access-request',
  'device',
  'server-id',
  'bot-instance-id',
  'join-token',
];

/** `spec.expires` from `--expires` (RFC 3339) or `--ttl` (from now), as Teleport's tctl computes it. */
export function lockExpiry(expires: string | undefined, ttl: string | undefined, now = new Date()): string | undefined {
  if (expires !== undefined && ttl !== undefined) throw new BadParameterError('use only one of --expires and --ttl');
  if (ttl !== undefined) return new Date(now.getTime() + parseDuration(ttl)).toISOString();
  if (expires === undefined) return undefined;
  const time = Date.parse(expires);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(expires) || Number.isNaN(time)) {
    throw new BadParameterError(`invalid --expires "${expires}": use an RFC 3339 time, like 2030-01-02T15:04:05Z, or --ttl=DURATION`);
  }
  return new Date(time).toISOString();
}

export function registerLockCommand(program: Command, globals: () => TctlGlobals): void {
  const command = program
    .command('lock')
    .description('Create a new lock: refuse new sessions and certificates of a user or of a role')
    .option('--user <name>', 'name of a user to disable')
    .option('--role <name>', 'name of a role to disable (every user holding it)')
    .option('--message <text>', 'message to display to locked-out users')
    .option('--expires <time>', 'time point (RFC3339) when the lock expires')
    .option('--ttl <duration>', 'time duration after which the lock expires, like 30m or 10h');
  for (const flag of OTHER_TARGET_FLAGS) command.addOption(new Option(`--${flag} <value>`).hideHelp());
  command.action(async (opts: LockOptions & Record<string, string | undefined>) => {
    const other = OTHER_TARGET_FLAGS.find((flag) => opts[flag.replace(/-(.)/g, (_, c: string) => c.toUpperCase())] !== undefined);
    if (other)
      throw new BadParameterError(`locks on a ${other.replace(/-/g, ' ')} are not supported here: lock a user (--user) or a role (--role)`);
    const target: LockTarget = {
      ...(opts.user !== undefined ? { user: opts.user } : {}),
      ...(opts.role !== undefined ? { role: opts.role } : {}),
    };
    if (target.user === undefined && target.role === undefined) {
      throw new BadParameterError('at least one target field must be set: --user=NAME or --role=NAME');
    }
    const expires = lockExpiry(opts.expires, opts.ttl);
    const body = {
      kind: 'lock',
      version: 'v2',
      spec: { target, ...(opts.message !== undefined ? { message: opts.message } : {}), ...(expires ? { expires } : {}) },
    };
    const { lock } = await tctlClient(globals()).put<{ lock: Lock }>('/v1/admin/locks?create=true', body);
    process.stdout.write(`Created a lock with name ${JSON.stringify(lock.metadata.name)}.\n`);
  });
}
