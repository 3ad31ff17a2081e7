// Runs pgbench and reads the two numbers the benchmark reports from its summary.
import type { ChildProcess } from 'node:child_process';
import { cleanEnv, runCommand, tail } from './procs.js';

export interface PgbenchResult {
  tps: number;
  /** pgbench's "initial connection time": opening all its connections, before the first transaction. */
  connectMs: number;
  latencyMs: number;
  transactions: number;
  failed: number;
}

/** "tps = 12345.678901 (without initial connection time)" and "latency average = 0.081 ms". */
export function parsePgbench(output: string): PgbenchResult {
  const tps = /^tps = ([\d.]+) \(without initial connection time\)/m.exec(output);
  const latency = /^latency average = ([\d.]+) ms/m.exec(output);
  if (!tps || !latency) {
    const connect = /^initial connection time = ([\d.]+) ms/m.exec(output)?.[1];
    const none = /^number of transactions actually processed: 0$/m.test(output);
    throw new Error(
      none
        ? `pgbench processed no transaction${connect ? ` (its initial connection time was ${connect} ms)` : ''}: try a longer --duration`
        : `pgbench printed no tps / latency average:\n${tail(output, 15)}`,
    );
  }
  const transactions = /^number of transactions actually processed: (\d+)/m.exec(output);
  const failed = /^number of failed transactions: (\d+)/m.exec(output);
  const connect = /^initial connection time = ([\d.]+) ms/m.exec(output);
  return {
    tps: Number(tps[1]),
    connectMs: Number(connect?.[1] ?? NaN),
    latencyMs: Number(latency[1]),
    transactions: Number(transactions?.[1] ?? 0),
    failed: Number(failed?.[1] ?? 0),
  };
}

/**
 * `pgbench -n -S -M <mode> -c N -j min(N,2) -T <seconds> <conninfo>`: the select-only built-in script,
 * no vacuum first (the tables belong to the superuser; `pgbench -i` vacuumed them).
 */
export async function runPgbench(
  pgbench: string,
  run: { conninfo: string; mode: 'simple' | 'prepared'; clients: number; seconds: number; env?: NodeJS.ProcessEnv },
  onSpawn?: (child: ChildProcess) => void,
): Promise<PgbenchResult> {
  const args = ['-n', '-S', '-M', run.mode, '-c', String(run.clients), '-j', String(Math.min(run.clients, 2)), '-T', String(run.seconds)];
  const result = await runCommand(pgbench, [...args, run.conninfo], { env: cleanEnv(run.env), onSpawn });
  if (result.code !== 0) throw new Error(`pgbench exited with ${result.code}:\n${tail(result.stderr + result.stdout, 15)}`);
  return parsePgbench(`${result.stdout}\n${result.stderr}`);
}

/** libpq's quoting of one conninfo value. */
export function connValue(value: string): string {
  return /^[^\s'\\]+$/.test(value) ? value : `'${value.replace(/['\\]/g, (c) => `\\${c}`)}'`;
}

export function conninfo(params: Record<string, string | number>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${connValue(String(v))}`)
    .join(' ');
}
