import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import type { RunningService } from '#libs/bus';
import { dbWorkerDataDir, type Config } from '#libs/config';

/** The services a worker process runs: a Database Service, or a proxy the first process hands connections to. */
export type WorkerRole = 'db' | 'proxy';

/** What a worker process is sent once started (IPC: the join token stays out of its environment and arguments). */
export interface WorkerStart {
  role: WorkerRole;
  config: Config;
  worker: number;
  caPin?: string;
  rejoin?: boolean;
  debug?: boolean;
}
export type FromWorker = { type: 'up' };

export interface RunningWorkers extends RunningService {
  /** Worker `n` (2 and up), if it serves now: between a stop and its start again, none. */
  serving(n: number): ChildProcess | undefined;
}

const FIRST_RESTART_MS = 1_000;
const MAX_RESTART_MS = 30_000;
/** A worker that ran this long before it stopped is restarted after the first delay again. */
const STEADY_MS = 60_000;
const STOP_TIMEOUT_MS = 9_000;

const WHAT: Record<WorkerRole, string> = { db: 'the Database Service', proxy: 'the proxy' };

/**
 * Workers 2 to `count` of `role`, each a process of its own (one more core). A Database Service worker
 * has its own data dir (`workers/<n>`), host id, joined identity, audit spool and tunnels: to the
 * cluster, one more Database Service serving the same databases, among which the broker spreads
 * sessions. A proxy worker shares this process's data dir and identity and listens nowhere: this
 * process hands it connections. Resolves once every one serves. A worker that stops is started again;
 * when this process goes, they stop too.
 */
export async function startWorkers(
  role: WorkerRole,
  count: number,
  config: Config,
  options: Omit<WorkerStart, 'role' | 'config' | 'worker'>,
): Promise<RunningWorkers> {
  const logger = new Logger(role);
  const workers: Array<{ child?: ChildProcess; up?: boolean }> = [];
  let closing = false;

  const spawnWorker = (n: number, slot: { child?: ChildProcess; up?: boolean }, delayMs = FIRST_RESTART_MS): Promise<void> => {
    const dataDir = role === 'db' ? dbWorkerDataDir(config.dataDir, n) : config.dataDir;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // Its own process group: a terminal's Ctrl-C reaches this process, which stops the workers in turn.
    const child = fork(new URL('./worker.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
    slot.child = child;
    slot.up = false;
    const started = Date.now();
    child.send({ ...options, role, config: { ...config, dataDir }, worker: n } satisfies WorkerStart);
    const up = new Promise<void>((resolve, reject) => {
      child.once('message', (m: FromWorker) => {
        if (m.type !== 'up') return;
        slot.up = true;
        resolve();
      });
      child.once('exit', (code, signal) =>
        reject(new Error(`worker ${n} of ${WHAT[role]} exited (${signal ?? `code ${code}`}) while starting`)),
      );
    });
    child.once('exit', (code, signal) => {
      slot.up = false;
      if (closing) return;
      const delay = Date.now() - started > STEADY_MS ? FIRST_RESTART_MS : delayMs;
      // Said when it is started again: a SIGTERM to the whole service (systemd stopping it) reaches
      // the workers too, and by then this process is closing and says nothing.
      setTimeout(() => {
        if (closing) return;
        logger.error(`worker ${n} of ${WHAT[role]} stopped (${signal ?? `exit code ${code}`}); starting it again`);
        spawnWorker(n, slot, Math.min(MAX_RESTART_MS, delay * 2)).catch(() => undefined);
      }, delay).unref();
    });
    return up;
  };

  for (let n = 2; n <= count; n++) workers.push({});
  try {
    await Promise.all(workers.map((slot, i) => spawnWorker(i + 2, slot)));
  } catch (err) {
    closing = true;
    for (const { child } of workers) child?.kill('SIGTERM');
    throw err;
  }
  logger.log(`${count} workers serve ${role === 'db' ? 'the databases' : 'the proxy'}: this process and ${workers.length} more`);
  return {
    name: `${role} workers`,
    serving(n) {
      const slot = workers[n - 2];
      return slot?.up && slot.child?.connected ? slot.child : undefined;
    },
    async close() {
      closing = true;
      await Promise.all(workers.map(({ child }) => (child ? stopChild(child) : undefined)));
    },
  };
}

/** SIGTERM (a worker sends what its spool holds, then exits), SIGKILL if it takes too long. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
