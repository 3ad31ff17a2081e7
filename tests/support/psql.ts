import { runCommand } from '#libs/testing';
import type { RunResult } from './cluster.js';

/**
 * The environment for libpq programs in tests: this process's, less every PG* variable (a developer's
 * PGHOST or PGSERVICE must not leak in), plus `env`.
 */
export function pgClientEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG')));
  return { ...clean, ...env };
}

/** Runs the real `psql` (from PATH) to completion, standard input from `input`; killed after `timeoutMs`. */
export async function psql(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  const result = await runCommand('psql', args, { env: pgClientEnv(opts.env), input: opts.input, timeoutMs: opts.timeoutMs ?? 30_000 });
  return { ...result, code: result.code ?? -1 };
}
