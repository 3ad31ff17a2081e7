import { table } from '../shared/output.js';

/** The percentiles Teleport's `tsh bench` prints. */
export const PERCENTILES = [25, 50, 75, 90, 95, 99, 100] as const;

export interface BenchResult {
  /** Requests that finished, failed ones included. */
  requestsOriginated: number;
  requestsFailed: number;
  lastError?: string;
  /** One response duration per finished request, in whole milliseconds, failed requests included (as Teleport records them). */
  durationsMs: number[];
}

/**
 * The value at `percentile` of the samples, as HdrHistogram's ValueAtQuantile reads it: the sample of
 * rank round(p/100 * n) (at least the first), in ascending order; 0 when there is none. For whole
 * milliseconds below 2048 this is exactly what Teleport's histogram (3 significant figures) answers.
 */
export function valueAtPercentile(sorted: readonly number[], percentile: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.floor((percentile / 100) * sorted.length + 0.5));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** What `tsh bench` prints, in Teleport's words and layout. */
export function benchReport(r: BenchResult): string {
  const sorted = [...r.durationsMs].sort((a, b) => a - b);
  const lines = ['', `* Requests originated: ${r.requestsOriginated}`, `* Requests failed: ${r.requestsFailed}`];
  if (r.lastError !== undefined) lines.push(`* Last error: ${r.lastError}`);
  lines.push('', 'Histogram', '');
  const rows = PERCENTILES.map((p) => [String(p), `${valueAtPercentile(sorted, p)} ms`]);
  return `${lines.join('\n')}\n${table(['Percentile', 'Response Duration'], rows)}\n`;
}
