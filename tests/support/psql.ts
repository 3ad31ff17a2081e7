import { spawn } from 'node:child_process';
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
export function psql(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn('psql', args, { env: pgClientEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // EPIPE when the command exits without reading its input; its exit code tells why
    child.stdin.end(opts.input ?? '');
  });
}
