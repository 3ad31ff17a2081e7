// What one benchmark run measured, as printed and as written to JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ConnectStats } from './connect.js';
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

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  machine: { cores: number; loadAverageAtStart: number; node: string };
  settings: {
    secondsPerRun: number;
    scale: number;
    clients: number[];
    modes: readonly Mode[];
    connections: number;
    poolMode: string;
  };
  pgbouncerVersion: string;
  connect: Partial<Record<PathName, ConnectStats>>;
  cells: Cell[];
}

export function writeResults(path: string, results: BenchResults): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
