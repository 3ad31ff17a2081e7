import { execFileSync } from 'node:child_process';
import { chownSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ServerStartError } from './errors.js';
import { findExecutable, isExecutable } from './executables.js';

const DEBIAN_PG_ROOT = '/usr/lib/postgresql';
let binDir: string | undefined;

/**
 * The directory holding initdb and postgres: `pg_config --bindir` if it has them (on Debian it may
 * name a client-only version), else the highest /usr/lib/postgresql/<version>/bin that has them.
 */
export function pgBinDir(): string {
  if (binDir !== undefined) return binDir;
  const candidates: string[] = [];
  try {
    const out = execFileSync('pg_config', ['--bindir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    candidates.push(out.trim());
  } catch {
    // no pg_config on PATH
  }
  candidates.push(...debianVersions().map((v) => join(DEBIAN_PG_ROOT, v, 'bin')));
  binDir = candidates.find((dir) => isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'postgres')));
  if (binDir === undefined) {
    throw new ServerStartError(
      `PostgreSQL server binaries (initdb, postgres) not found via \`pg_config --bindir\` nor in ${DEBIAN_PG_ROOT}/*/bin: run scripts/ensure-deps.sh`,
    );
  }
  return binDir;
}

function debianVersions(): string[] {
  try {
    return readdirSync(DEBIAN_PG_ROOT)
      .filter((name) => /^\d+(\.\d+)?$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
  } catch {
    return [];
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The command line that runs `command` as the `postgres` user: initdb and postgres refuse to run
 * as root. When not root they run as the current user.
 */
export function asPostgresUser(command: string, args: string[]): [string, string[]] {
  if (!isRoot()) return [command, args];
  const runuser = findExecutable('runuser');
  if (runuser === undefined) throw new ServerStartError('runuser not found: install util-linux');
  return [runuser, ['-u', 'postgres', '--', command, ...args]];
}

let postgresIds: { uid: number; gid: number } | undefined;

/** Gives `path` to the `postgres` user when running as root; a no-op otherwise. */
export function chownToPostgres(path: string): void {
  if (!isRoot()) return;
  postgresIds ??= postgresUserIds();
  chownSync(path, postgresIds.uid, postgresIds.gid);
}

function postgresUserIds(): { uid: number; gid: number } {
  const id = (flag: string): number => {
    try {
      return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim());
    } catch (cause) {
      throw new ServerStartError('no `postgres` user to run PostgreSQL as: run scripts/ensure-deps.sh', { cause });
    }
  };
  return { uid: id('-u'), gid: id('-g') };
}

/** The environment for PostgreSQL programs: no PG* variables of the caller, C locale messages. */
export function pgEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PG')) env[key] = value;
  }
  env.LC_ALL = 'C';
  return env;
}
