// The tables `npm run bench` prints at the end.
import { availableParallelism } from 'node:os';
import { COPY_TABLE } from './copy.js';
import {
  CLIENTS,
  CONNECTIONS,
  MODES,
  OUR_PROCESSES,
  PATHS,
  POOL_MODE,
  SCALE,
  type BenchResults,
  type Mode,
  type PathName,
} from './results.js';

export function fmt(n: number | undefined, digits: number): string {
  return n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`;
}

function sum(values: (number | undefined)[]): number | undefined {
  return values.some((v) => v === undefined) ? undefined : values.reduce<number>((a, b) => a + b!, 0);
}

function table(header: string[], rows: string[][], leftColumns = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function report(r: BenchResults): string {
  return [throughput(r), connectionSetup(r), cpuShare(r), cpuPerTransaction(r), copy(r), ''].join('\n\n');
}

function throughput(r: BenchResults): string {
  const find = (path: PathName, mode: Mode, clients: number) =>
    r.cells.find((c) => c.path === path && c.mode === mode && c.clients === clients)?.result;
  const out: string[] = [];
  out.push(
    `Throughput: pgbench -n -S -M <mode> -c N -j min(N,2) -T ${r.settings.secondsPerRun} (scale ${SCALE}); tps without initial connection time`,
  );
  out.push(`  direct     pgbench -> PostgreSQL 15 (TLS verify-full, db_client certificate)`);
  out.push(`  ours       pgbench -> proxy (TLS, user certificate) -> Database Service (mTLS) -> PostgreSQL (TLS); audit on`);
  out.push(
    `  pgbouncer  pgbench -> ${r.pgbouncerVersion} (client TLS require, auth trust, pool_mode=${POOL_MODE}) -> PostgreSQL (TLS verify-full)`,
  );
  out.push(`             (session pooling: PgBouncer 1.18 cannot carry -M prepared in transaction mode)`);
  out.push('');
  const rows: string[][] = [];
  for (const mode of MODES) {
    for (const clients of CLIENTS) {
      const [d, o, b] = PATHS.map((p) => find(p, mode, clients));
      rows.push([
        mode,
        String(clients),
        fmt(d?.tps, 0),
        fmt(d?.latencyMs, 3),
        fmt(o?.tps, 0),
        fmt(o?.latencyMs, 3),
        fmt(b?.tps, 0),
        fmt(b?.latencyMs, 3),
        ratio(o?.tps, d?.tps),
        ratio(o?.latencyMs, d?.latencyMs),
        ratio(o?.tps, b?.tps),
        ratio(o?.latencyMs, b?.latencyMs),
      ]);
    }
  }
  out.push(
    table(
      [
        'mode',
        'clients',
        'direct tps',
        'lat ms',
        'ours tps',
        'lat ms',
        'pgbouncer tps',
        'lat ms',
        'ours/direct tps',
        'lat',
        'ours/pgbouncer tps',
        'lat',
      ],
      rows,
    ),
  );
  for (const c of r.cells.filter((c) => c.error))
    out.push(`FAILED ${c.path} -M ${c.mode} -c ${c.clients}: ${c.error!.split('\n').slice(0, 3).join(' | ')}`);
  for (const c of r.cells.filter((c) => c.result && c.result.failed > 0)) {
    out.push(`note: ${c.path} -M ${c.mode} -c ${c.clients}: ${c.result!.failed} failed transactions`);
  }
  return out.join('\n');
}

function connectionSetup(r: BenchResults): string {
  const d = r.connect.direct;
  const o = r.connect.ours;
  const b = r.connect.pgbouncer;
  return [
    `Connection setup: mean of ${CONNECTIONS} sequential node-postgres connections (TCP + TLS + authentication + SELECT 1), ms`,
    table(
      ['path', 'mean', 'p50', 'p95', 'min', 'max'],
      PATHS.map((p) => {
        const s = r.connect[p];
        return [p, fmt(s?.meanMs, 2), fmt(s?.p50Ms, 2), fmt(s?.p95Ms, 2), fmt(s?.minMs, 2), fmt(s?.maxMs, 2)];
      }),
      1,
    ),
    `ours/direct ${ratio(o?.meanMs, d?.meanMs)}, ours/pgbouncer ${ratio(o?.meanMs, b?.meanMs)} (pgbouncer reuses its pooled server connections)`,
  ].join('\n');
}

function cpuShare(r: BenchResults): string {
  const cores = availableParallelism();
  const names = Object.keys(r.cells[0]?.cpu ?? {});
  return [
    `CPU used during each run, % of one core (${cores} cores: ${cores * 100}% is the whole machine);`,
    'teleport start = proxy, auth, inventory and broker in one process; others = every process this benchmark did not start',
    table(
      ['path', 'mode', 'clients', ...names],
      r.cells.map((c) => [c.path, c.mode, String(c.clients), ...names.map((n) => fmt(c.cpu[n], 0))]),
      3,
    ),
  ].join('\n');
}

/** What proxying one transaction costs: our three processes on the ours path beside PgBouncer on its own. */
function cpuPerTransaction(r: BenchResults): string {
  const cell = (path: PathName, mode: Mode, clients: number) =>
    r.cells.find((c) => c.path === path && c.mode === mode && c.clients === clients);
  const rows: string[][] = [];
  for (const mode of MODES) {
    for (const clients of CLIENTS) {
      const o = cell('ours', mode, clients)?.cpuUsPerTxn ?? {};
      const ours = sum(OUR_PROCESSES.map((p) => o[p]));
      const pgbouncer = cell('pgbouncer', mode, clients)?.cpuUsPerTxn.pgbouncer;
      rows.push([
        mode,
        String(clients),
        ...OUR_PROCESSES.map((p) => fmt(o[p], 0)),
        fmt(ours, 0),
        fmt(pgbouncer, 0),
        ratio(ours, pgbouncer),
      ]);
    }
  }
  return [
    'CPU per transaction, µs: CPU time over each run (its connections included) / transactions pgbench reports;',
    'ours = teleport start + db service + nats on the ours path, pgbouncer on the pgbouncer path (every process per cell in the JSON)',
    table(['mode', 'clients', ...OUR_PROCESSES, 'ours', 'pgbouncer', 'ours/pgbouncer'], rows),
  ].join('\n');
}

const COPY_CPU = [...OUR_PROCESSES, 'pgbouncer', 'postgres'] as const;
const COPY_MEMORY = ['teleport start', 'db service', 'pgbouncer'] as const;

function copy(r: BenchResults): string {
  if (!r.copy.length) return 'COPY: not run';
  const mb = (bytes: number) => bytes / 1e6;
  const direct = (dir: 'in' | 'out') => r.copy.find((c) => c.path === 'direct' && c.direction === dir)?.transfer;
  const runs = r.copy.map((c) => {
    const t = c.transfer;
    const rate = t ? mb(t.bytes) / t.seconds : undefined;
    const d = direct(c.direction);
    return {
      c,
      label: [c.path, c.direction === 'in' ? 'in (FROM STDIN)' : 'out (TO STDOUT)'],
      rate,
      vsDirect: ratio(rate, d ? mb(d.bytes) / d.seconds : undefined),
    };
  });
  const lifetime = r.copy.some((c) => !c.peakReset);
  const out = [
    `COPY through each path with psql, ${fmt(mb(r.copy[0]?.transfer?.bytes ?? r.settings.copyBytes), 0)} MB each way: COPY ${COPY_TABLE} FROM STDIN of generated`,
    'rows (~200 bytes each, unlogged table), then COPY TO STDOUT read and discarded; CPU s = CPU seconds each process used',
    table(
      ['path', 'direction', 'seconds', 'MB/s', 'vs direct', ...COPY_CPU.map((p) => `${p} CPU s`)],
      runs.map(({ c, label, rate, vsDirect }) => [
        ...label,
        fmt(c.transfer?.seconds, 1),
        fmt(rate, 1),
        vsDirect,
        ...COPY_CPU.map((p) => fmt(c.cpuSeconds[p], 1)),
      ]),
    ),
    '',
    `Peak memory during each COPY, MiB (VmHWM${lifetime ? ' since each process started: it could not be reset' : ', reset before each run'}; idle processes show their floor)`,
    table(
      ['path', 'direction', ...COPY_MEMORY],
      runs.map(({ c, label }) => [
        ...label,
        ...COPY_MEMORY.map((p) => fmt(c.peakRssBytes[p] === undefined ? undefined : c.peakRssBytes[p]! / 2 ** 20, 0)),
      ]),
    ),
  ];
  for (const c of r.copy.filter((c) => c.error))
    out.push(`FAILED COPY ${c.direction} on ${c.path}: ${c.error!.split('\n').slice(0, 3).join(' | ')}`);
  return out.join('\n');
}
