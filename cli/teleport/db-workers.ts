import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import type { RunningService } from '#libs/bus';
import { dbWorkerDataDir, type Config } from '#libs/config';

/** What a worker process is sent once started (IPC: the join token stays out of its environment and arguments). */
export interface DbWorkerStart {
  config: Config;
  worker: number;
  caPin?: string;
  rejoin?: boolean;
  debug?: boolean;
}
export type FromDbWorker = { type: 'up' };

const FIRST_RESTART_MS = 1_000;
const MAX_RESTART_MS = 30_000;
/** A worker that ran this long before it stopped is restarted after the first delay again. */
const STEADY_MS = 60_000;
const STOP_TIMEOUT_MS = 9_000;

/**
 * Database Service workers 2 to `config.db.workers`, each a process of its own (one more core) with
 * its own data dir, host id, joined identity, audit spool and tunnels: to the cluster, more Database
 * Services serving the same databases, among which the broker spreads sessions. Resolves once every
 * one serves. A worker that stops is started again; when this process goes, they stop too.
 */
export async function startDbWorkers(config: Config, options: Omit<DbWorkerStart, 'config' | 'worker'>): Promise<RunningService> {
  const logger = new Logger('db');
  const workers: Array<{ child?: ChildProcess }> = [];
  let closing = false;

  const spawnWorker = (n: number, slot: { child?: ChildProcess }, delayMs = FIRST_RESTART_MS): Promise<void> => {
    const dataDir = dbWorkerDataDir(config.dataDir, n);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // Its own process group: a terminal's Ctrl-C reaches this process, which stops the workers in turn.
    const child = fork(new URL('./db-worker.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
    slot.child = child;
    const started = Date.now();
    child.send({ ...options, config: { ...config, dataDir }, worker: n } satisfies DbWorkerStart);
    const up = new Promise<void>((resolve, reject) => {
      child.once('message', (m: FromDbWorker) => m.type === 'up' && resolve());
      child.once('exit', (code, signal) =>
        reject(new Error(`worker ${n} of the Database Service exited (${signal ?? `code ${code}`}) while starting`)),
      );
    });
    child.once('exit', (code, signal) => {
      if (closing) return;
      const delay = Date.now() - started > STEADY_MS ? FIRST_RESTART_MS : delayMs;
      // Said when it is started again: a SIGTERM to the whole service (systemd stopping it) reaches
      // the workers too, and by then this process is closing and says nothing.
      setTimeout(() => {
        if (closing) return;
        logger.error(`worker ${n} of the Database Service stopped (${signal ?? `exit code ${code}`}); starting it again`);
        spawnWorker(n, slot, Math.min(MAX_RESTART_MS, delay * 2)).catch(() => undefined);
      }, delay).unref();
    });
    return up;
  };

  for (let n = 2; n <= config.db.workers; n++) workers.push({});
  try {
    await Promise.all(workers.map((slot, i) => spawnWorker(i + 2, slot)));
  } catch (err) {
    closing = true;
    for (const { child } of workers) child?.kill('SIGTERM');
    throw err;
  }
  logger.log(`${config.db.workers} workers serve the databases: this process and ${workers.length} more`);
  return {
    name: 'db workers',
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
