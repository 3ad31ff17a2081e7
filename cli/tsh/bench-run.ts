import { setTimeout as sleep } from 'node:timers/promises';
import { BadParameterError, parseDuration } from '#libs/common';
import type { BenchResult } from './bench-report.js';

/** One request of a benchmark; rejects on failure, gives up when `signal` aborts. */
export type Workload = (signal: AbortSignal) => Promise<void>;

export interface LoadPlan {
  /** Requests started per second. */
  rate: number;
  durationMs: number;
  /** How long one request may take before it counts as failed. */
  timeoutMs: number;
}

/** `--rate` and `--duration` as Teleport's `tsh bench` takes them: a whole number of requests per second, a Go duration. */
export function parseLoadPlan(flags: { rate: string; duration: string }, timeoutMs: number): LoadPlan {
  const rate = Number(flags.rate);
  if (!/^\d+$/.test(flags.rate.trim()) || !Number.isSafeInteger(rate) || rate < 1) {
    throw new BadParameterError(`invalid --rate "${flags.rate}": use a whole number of requests per second, like 10`);
  }
  const durationMs = parseDuration(flags.duration);
  if (durationMs <= 0) throw new BadParameterError(`invalid --duration "${flags.duration}": use a duration above zero, like 1s or 30s`);
  return { rate, durationMs, timeoutMs };
}

/** How many requests a plan starts: one per 1/rate over the duration, the first after one interval, at least one. */
export function plannedRequests(plan: Pick<LoadPlan, 'rate' | 'durationMs'>): number {
  return Math.max(1, Math.floor((plan.rate * plan.durationMs) / 1000));
}

/**
 * Starts requests at a steady rate whatever the earlier ones are doing (an open loop, as Teleport's
 * `tsh bench` does), and times each from when it was due rather than from when it started, so a
 * stalled client or server shows in the durations instead of thinning the schedule (coordinated
 * omission). Unlike Teleport, it waits for the requests still running at the end instead of
 * dropping them: every request started is counted. `stop` ends the schedule early.
 */
export async function runLoad(plan: LoadPlan, workload: Workload, stop?: AbortSignal): Promise<BenchResult> {
  const result: BenchResult = { requestsOriginated: 0, requestsFailed: 0, durationsMs: [] };
  const interval = 1000 / plan.rate;
  const start = performance.now();
  const running: Promise<void>[] = [];
  const count = plannedRequests(plan);
  for (let i = 1; i <= count && !stop?.aborted; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal: stop }).catch(() => undefined);
    if (stop?.aborted) break;
    running.push(
      workload(AbortSignal.timeout(plan.timeoutMs)).then(
        () => record(result, due),
        (err: unknown) => {
          result.requestsFailed++;
          result.lastError = err instanceof Error ? err.message : String(err);
          record(result, due);
        },
      ),
    );
  }
  await Promise.all(running);
  return result;
}

function record(result: BenchResult, due: number): void {
  result.requestsOriginated++;
  // Whole milliseconds, cut as Go's Duration / time.Millisecond cuts them.
  result.durationsMs.push(Math.max(0, Math.floor(performance.now() - due)));
}
