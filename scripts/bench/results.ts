// What one benchmark run measured, as printed and as written to JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ConnectStats } from './connect.js';
import type { CopyTransfer } from './copy.js';
import type { PgbenchResult } from './pgbench.js';

export const SCALE = 10;
export const CLIENTS = [1, 8, 32];
export const MODES = ['simple', 'prepared'] as const;
export const PATHS = ['direct', 'ours', 'pgbouncer'] as const;
export const CONNECTIONS = 50;
export const POOL_MODE = 'session';
export type Mode = (typeof MODES)[number];
export type PathName = (typeof PATHS)[number];

/** The processes the report breaks CPU down by; `ours` sums the first three. */
export const OUR_PROCESSES = ['teleport start', 'db service', 'nats'] as const;

export interface Cell {
  path: PathName;
  mode: Mode;
  clients: number;
  result?: PgbenchResult;
  error?: string;
  /** % of one core used by each process during the run; `others` is every process this benchmark did not start. */
  cpu: Record<string, number>;
  /** CPU microseconds of each process over the run (connections included) per transaction pgbench reports. */
  cpuUsPerTxn: Record<string, number>;
}

export interface CopyRun {
  path: PathName;
  direction: 'in' | 'out';
  transfer?: CopyTransfer;
  error?: string;
  /** CPU seconds each process used during the run. */
  cpuSeconds: Record<string, number>;
  /** Peak resident set size (VmHWM) of the proxying processes during the run, bytes. */
  peakRssBytes: Record<string, number>;
  /** False when VmHWM could not be reset first: the peaks are then since each process started. */
  peakReset: boolean;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  machine: { cores: number; loadAverageAtStart: number; node: string };
  /** Processes of the Database Service (db_service.workers). */
  dbWorkers: number;
  /** Processes of the proxy (proxy_service.workers), in the tree of teleport start. */
  proxyWorkers: number;
  settings: {
    secondsPerRun: number;
    scale: number;
    clients: number[];
    modes: readonly Mode[];
    connections: number;
    poolMode: string;
    copyBytes: number;
  };
  pgbouncerVersion: string;
  connect: Partial<Record<PathName, ConnectStats>>;
  cells: Cell[];
  copy: CopyRun[];
}

export function writeResults(path: string, results: BenchResults): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
