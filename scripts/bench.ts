// `npm run bench`: pgbench -S through three paths to the same PostgreSQL, all on this machine:
//   direct     pgbench -> PostgreSQL (TLS, db_client certificate)
//   ours       pgbench -> our proxy (TLS, user certificate) -> Database Service (mTLS) -> PostgreSQL, audited
//   pgbouncer  pgbench -> PgBouncer (TLS) -> PostgreSQL (TLS verify-full, db_client certificate)
// Then COPY of --copy-bytes in and out through each path, with the CPU and peak memory of each process.
// Every process runs on free loopback ports and is stopped at the end, also on Ctrl-C. The tables are
// printed and the results written as JSON (--json=PATH, default .bench/result.json); see args.ts.
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Logger } from '@nestjs/common';
import type pg from 'pg';
import { usableCores } from '#libs/config';
import { Rpc, type SignedCert } from '#libs/events';
import { generateKeyPair } from '#libs/pki';
import { freePort, pgBinDir, startPostgres, type NatsServer, type PostgresCluster } from '#libs/testing';
import { parseArgs } from './bench/args.js';
import { BenchCluster } from './bench/cluster.js';
import { measureConnect } from './bench/connect.js';
import { copyIn, copyOut, COPY_TABLE, CREATE_COPY_TABLE, type CopyTransfer } from './bench/copy.js';
import { conninfo, runPgbench } from './bench/pgbench.js';
import { ensurePgbouncer, startPgbouncer } from './bench/pgbouncer.js';
import {
  cleanEnv,
  cpuSeconds,
  LongRunning,
  machineBusySeconds,
  natsPid,
  processNamed,
  resetTreePeakRss,
  runCommand,
  sleep,
  tail,
  treeCpuSeconds,
  treePeakRssBytes,
  treeSize,
} from './bench/procs.js';
import { fmt, report } from './bench/report.js';
import { TelemetrySink } from './bench/telemetry.js';
import {
  CLIENTS,
  CONNECTIONS,
  MODES,
  PATHS,
  POOL_MODE,
  SCALE,
  writeResults,
  type BenchResults,
  type Cell,
  type CopyRun,
  type PathName,
} from './bench/results.js';

const CLUSTER = 'bench';
const DB = 'pg';
const DB_USER = 'bench';

interface BenchPath {
  name: PathName;
  conninfo: string;
  env: NodeJS.ProcessEnv;
  pgConfig: pg.ClientConfig;
}

// ---------------------------------------------------------------------------------------------
// Progress and cleanup

const t0 = Date.now();
function say(line: string): void {
  const s = Math.round((Date.now() - t0) / 1000);
  process.stdout.write(`[bench ${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
}

const cleanups: { name: string; run: () => Promise<void> }[] = [];
const runningCommands = new Set<ChildProcess>();
let stopping: Promise<void> | undefined;

function onStop(name: string, run: () => Promise<void>): void {
  cleanups.push({ name, run });
}

function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const child of runningCommands) child.kill('SIGTERM');
    // pgbouncer, the Database Service, teleport start: the last started first
    for (const proc of [...LongRunning.started].reverse()) {
      try {
        await proc.stop('SIGTERM', 10_000);
      } catch (err) {
        process.stderr.write(`bench: stopping ${proc.name} failed: ${(err as Error).message}\n`);
      }
    }
    for (const { name, run } of cleanups.reverse()) {
      try {
        await run();
      } catch (err) {
        process.stderr.write(`bench: stopping ${name} failed: ${(err as Error).message}\n`);
      }
    }
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    process.stdout.write(`\n`);
    say(`${signal}: stopping everything this run started`);
    void stopAll().then(() => process.exit(130));
  });
}

function track(child: ChildProcess): void {
  runningCommands.add(child);
  child.once('exit', () => runningCommands.delete(child));
}

// ---------------------------------------------------------------------------------------------

function readServiceSection(file: string, section: string): Record<string, string> {
  const body = readFileSync(file, 'utf8').split(`[${section}]`)[1]?.split(/^\[/m)[0] ?? '';
  const entries = body
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes('=') && !l.startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]);
  if (!entries.length) throw new Error(`no [${section}] section in ${file}`);
  return Object.fromEntries(entries) as Record<string, string>;
}

async function main(): Promise<void> {
  Logger.overrideLogger(false); // the NATS client of RpcClient logs its close through Nest
  const args = parseArgs(process.argv.slice(2), process.env);
  const seconds = args.seconds;
  const pgbench = join(pgBinDir(), 'pgbench');
  const psql = join(pgBinDir(), 'psql');
  const startedAt = new Date();
  const runs = MODES.length * CLIENTS.length * PATHS.length;
  const copySize = `${(args.copyBytes / 1e6).toFixed(0)} MB`;
  // COPY: 3 paths x 2 directions, at 15-40 MB/s each on a 2-core machine
  const copyMinutes = (6 * args.copyBytes) / 25e6 / 60;
  say(
    `dbaccess benchmark: pgbench -S, scale ${SCALE}, ${seconds} s per run, ${runs} runs, then COPY of ${copySize} ` +
      `in and out on each path (about ${Math.ceil((runs * (seconds + 1) + 75) / 60 + copyMinutes)} min)`,
  );
  const load = loadavg()[0]!;
  if (load > 0.5)
    say(
      `note: load average ${load.toFixed(2)} before starting: other processes on this machine skew the numbers (see 'others' in the CPU table)`,
    );
  const pgbouncerBin = await ensurePgbouncer(say);
  const pgbouncerVersion = (await runCommand(pgbouncerBin, ['--version'])).stdout.split('\n')[0]?.trim() ?? 'PgBouncer';

  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-bench-'));
  chmodSync(dir, 0o711); // pgbouncer runs as postgres when we are root and needs to reach its own dir
  onStop('the work dir', async () => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }));

  // --- our cluster
  say('starting nats-server (JetStream) and teleport start (auth, inventory, broker, proxy)');
  let nats: NatsServer | undefined;
  onStop('nats-server', async () => nats?.stop());
  const telemetry = args.telemetry ? await TelemetrySink.start() : undefined;
  if (telemetry) {
    say(`telemetry on: /metrics of every process scraped every 5 s, traces exported to ${telemetry.endpoint}`);
    onStop('the telemetry receiver', () => telemetry.stop());
  }
  const cluster = await BenchCluster.start(dir, CLUSTER, (n) => (nats = n), '', telemetry, args.cpuProfDir);
  say(`  cluster "${CLUSTER}" is up: proxy at ${cluster.proxyAddr}, NATS at ${cluster.nats.url}`);
  const proxyWorkers = treeSize(cluster.process!.pid!);
  say(`  ${proxyWorkers} proxy process${proxyWorkers > 1 ? 'es' : ''} (proxy_service.workers by default: half of ${usableCores()} cores)`);

  // --- PostgreSQL with our certificates
  say('starting PostgreSQL (ssl on, client certificates only) with a server certificate from tctl auth sign --format=db');
  mkdirSync(join(dir, 'pg'));
  await cluster.tctl('auth', 'sign', '--format=db', '--host=localhost,127.0.0.1', `--out=${join(dir, 'pg', 'server')}`, '--ttl=2190h');
  let postgres: PostgresCluster | undefined;
  onStop('PostgreSQL', async () => postgres?.stop());
  postgres = await startPostgres({
    tls: { certFile: join(dir, 'pg', 'server.crt'), keyFile: join(dir, 'pg', 'server.key'), caFile: join(dir, 'pg', 'server.cas') },
    extraConf: 'max_connections = 300',
  });
  const pgPort = postgres.port;
  say(`  PostgreSQL on 127.0.0.1:${pgPort}; pgbench -i -s ${SCALE} as the superuser`);
  const init = await runCommand(
    pgbench,
    ['-i', '-q', '-s', String(SCALE), '-h', postgres.socketDir, '-p', String(pgPort), '-U', 'postgres', 'postgres'],
    {
      env: cleanEnv(),
      onSpawn: track,
    },
  );
  if (init.code !== 0) throw new Error(`pgbench -i failed:\n${tail(init.stderr)}`);
  await postgres.psql(`CREATE USER ${DB_USER}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${DB_USER}; ANALYZE;`);

  // --- the Database Service and a logged-in user
  say(`starting teleport db start --name=${DB} --uri=localhost:${pgPort}`);
  const dbService = await cluster.startDbService({ name: DB, uri: `localhost:${pgPort}` });
  const dbWorkers = treeSize(dbService.pid);
  say(`  ${dbWorkers} worker process${dbWorkers > 1 ? 'es' : ''} (db_service.workers by default: half of ${usableCores()} cores)`);
  say(
    `tctl users add ${DB_USER} --roles=access --db-users=${DB_USER}; tsh login; tsh db login --db-user=${DB_USER} --db-name=postgres ${DB}`,
  );
  await cluster.loginUser(DB_USER, ['--roles=access', `--db-users=${DB_USER}`, '--db-names=*']);
  const serviceFile = join(dir, 'pg_service.conf');
  await cluster.tsh(['db', 'login', `--db-user=${DB_USER}`, '--db-name=postgres', DB], { env: { PGSERVICEFILE: serviceFile } });
  const section = readServiceSection(serviceFile, `${CLUSTER}-${DB}`);

  // --- a db_client certificate for the direct path and PgBouncer's server side
  say(`signing a db_client certificate for ${DB_USER} over NATS (${Rpc.Auth.SignDbClient})`);
  const bus = await cluster.bus();
  const keys = await generateKeyPair();
  const signed = await bus.rpc.call<SignedCert>(Rpc.Auth.SignDbClient, {
    db_user: DB_USER,
    public_key: keys.publicKeyPem,
    ttl_ms: 3_600_000,
  });
  await bus.nc.close();
  const dbCa = (signed.cas.db ?? []).join('\n');
  if (!dbCa) throw new Error('the signing answer carries no db CA');
  const directDir = join(dir, 'direct');
  mkdirSync(directDir, { mode: 0o700 });
  const caFile = join(directDir, 'db-ca.pem');
  const certFile = join(directDir, 'client.crt');
  const keyFile = join(directDir, 'client.key');
  writeFileSync(caFile, dbCa, { mode: 0o600 });
  writeFileSync(certFile, signed.cert, { mode: 0o600 });
  writeFileSync(keyFile, keys.privateKeyPem, { mode: 0o600 });

  // --- PgBouncer
  const pgbDir = join(dir, 'pgbouncer');
  mkdirSync(pgbDir);
  await cluster.tctl('auth', 'sign', '--format=db', '--host=localhost,127.0.0.1', `--out=${join(pgbDir, 'tls')}`, '--ttl=24h');
  const pgbPort = await freePort();
  say(`starting ${pgbouncerVersion} on 127.0.0.1:${pgbPort} (pool_mode=${POOL_MODE}, client TLS require, server TLS verify-full)`);
  const pgbouncer = await startPgbouncer({
    bin: pgbouncerBin,
    dir: join(pgbDir, 'run'),
    port: pgbPort,
    server: { host: '127.0.0.1', port: pgPort, caPem: dbCa, certPem: signed.cert, keyPem: keys.privateKeyPem },
    client: { certPem: readFileSync(join(pgbDir, 'tls.crt'), 'utf8'), keyPem: readFileSync(join(pgbDir, 'tls.key'), 'utf8') },
    dbUser: DB_USER,
    poolMode: POOL_MODE,
    poolSize: Math.max(...CLIENTS) + 8,
  });

  // --- the three paths
  const home = join(dir, 'home'); // no ~/.postgresql client certificate of this machine's user sneaks in
  mkdirSync(home);
  const libpq = (port: number, extra: Record<string, string>) =>
    conninfo({
      host: 'localhost',
      hostaddr: '127.0.0.1',
      port,
      user: DB_USER,
      dbname: 'postgres',
      sslmode: 'verify-full',
      ...extra,
      gssencmode: 'disable',
    });
  const paths: BenchPath[] = [
    {
      name: 'direct',
      conninfo: libpq(pgPort, { sslrootcert: caFile, sslcert: certFile, sslkey: keyFile }),
      env: { HOME: home },
      pgConfig: {
        host: '127.0.0.1',
        port: pgPort,
        user: DB_USER,
        database: 'postgres',
        ssl: { ca: dbCa, cert: signed.cert, key: keys.privateKeyPem, servername: 'localhost' },
      },
    },
    {
      name: 'ours',
      conninfo: `service=${CLUSTER}-${DB}`,
      env: { HOME: home, PGSERVICEFILE: serviceFile },
      pgConfig: {
        host: section.host,
        port: Number(section.port),
        user: section.user,
        database: section.dbname,
        ssl: {
          ca: readFileSync(section.sslrootcert!, 'utf8'),
          cert: readFileSync(section.sslcert!, 'utf8'),
          key: readFileSync(section.sslkey!, 'utf8'),
        },
      },
    },
    {
      name: 'pgbouncer',
      conninfo: libpq(pgbPort, { sslrootcert: caFile }),
      env: { HOME: home },
      pgConfig: { host: '127.0.0.1', port: pgbPort, user: DB_USER, database: 'postgres', ssl: { ca: dbCa, servername: 'localhost' } },
    },
  ];

  // --- connection setup
  say(`connection setup: ${CONNECTIONS} sequential connections per path (node-postgres: connect, TLS, auth, SELECT 1)`);
  const connect: BenchResults['connect'] = {};
  for (const path of paths) {
    const stats = await measureConnect(path.pgConfig, CONNECTIONS);
    connect[path.name] = stats;
    say(`  ${path.name.padEnd(9)} mean ${stats.meanMs.toFixed(2)} ms (p50 ${stats.p50Ms.toFixed(2)}, p95 ${stats.p95Ms.toFixed(2)})`);
  }

  // --- warm-up (JIT of our Node processes, PostgreSQL's caches, PgBouncer's pool), not reported
  const warm = Math.min(3, seconds);
  say(`warm-up: ${warm} s of pgbench -S -M prepared -c 8 on each path (not reported)`);
  for (const path of paths) {
    await runPgbench(pgbench, { conninfo: path.conninfo, env: path.env, mode: 'prepared', clients: 8, seconds: warm }, track);
  }

  // --- the grid
  const pids = {
    postgres: Number(readFileSync(join(postgres.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]),
    'teleport start': cluster.process!.pid,
    'db service': dbService.pid,
    nats: natsPid(cluster.nats.port),
    pgbouncer: pgbouncer.pid,
  };
  const sampleCpu = (): Record<string, number> => {
    const ours: Record<string, number> = {
      pgbench: cpuSeconds('self', true) - cpuSeconds('self'),
      ...Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, pid ? treeCpuSeconds(pid) : 0])),
    };
    const mine = Object.values(ours).reduce((a, b) => a + b, 0) + cpuSeconds('self');
    return { ...ours, others: machineBusySeconds() - mine };
  };
  const cells: Cell[] = [];
  const total = MODES.length * CLIENTS.length * PATHS.length;
  for (const mode of MODES) {
    for (const clients of CLIENTS) {
      for (const path of paths) {
        const cell: Cell = { path: path.name, mode, clients, cpu: {}, cpuUsPerTxn: {} };
        const label = `[${String(cells.length + 1).padStart(2)}/${total}] ${path.name.padEnd(9)} -M ${mode.padEnd(8)} -c ${String(clients).padStart(2)}`;
        const before = sampleCpu();
        const start = Date.now();
        try {
          cell.result = await runPgbench(pgbench, { conninfo: path.conninfo, env: path.env, mode, clients, seconds }, track);
          const r = cell.result;
          say(
            `${label}: ${fmt(r.tps, 0).padStart(6)} tps, ${fmt(r.latencyMs, 3).padStart(7)} ms (pgbench connected in ${fmt(r.connectMs, 0)} ms)`,
          );
        } catch (err) {
          if (stopping) return;
          cell.error = (err as Error).message;
          say(`${label}: FAILED: ${cell.error}`);
        }
        await sleep(250); // the backends of closed sessions exit and are reaped into the postmaster's times
        const wall = (Date.now() - start) / 1000;
        const after = sampleCpu();
        for (const name of Object.keys(after)) cell.cpu[name] = Math.max(0, ((after[name]! - before[name]!) / wall) * 100);
        const transactions = cell.result?.transactions ?? 0;
        if (transactions > 0) {
          for (const name of Object.keys(pids)) cell.cpuUsPerTxn[name] = ((after[name]! - before[name]!) * 1e6) / transactions;
          cell.cpuUsPerTxn.pgbench = ((after.pgbench! - before.pgbench!) * 1e6) / transactions;
        }
        cells.push(cell);
      }
    }
  }

  // --- COPY in and out
  say(`COPY: ${copySize} in (COPY FROM STDIN) and back out (COPY TO STDOUT) on each path, with psql`);
  await postgres.psql(`${CREATE_COPY_TABLE}; ALTER TABLE ${COPY_TABLE} OWNER TO ${DB_USER};`);
  // The proxying processes: pgbouncer itself, not the runuser above it.
  const watched = {
    'teleport start': pids['teleport start'],
    'db service': pids['db service'],
    pgbouncer: processNamed(pids.pgbouncer, 'pgbouncer'),
  };
  const copy: CopyRun[] = [];
  const measureCopy = async (path: BenchPath, direction: CopyRun['direction'], transfer: () => Promise<CopyTransfer>) => {
    const run: CopyRun = { path: path.name, direction, cpuSeconds: {}, peakRssBytes: {}, peakReset: true };
    for (const pid of Object.values(watched)) run.peakReset = resetTreePeakRss(pid) && run.peakReset;
    const before = sampleCpu();
    const label = `  ${path.name.padEnd(9)} ${direction.padEnd(3)}`;
    try {
      run.transfer = await transfer();
      const t = run.transfer;
      say(
        `${label}: ${(t.bytes / 1e6).toFixed(0)} MB, ${t.rows} rows in ${t.seconds.toFixed(1)} s (${(t.bytes / 1e6 / t.seconds).toFixed(1)} MB/s)`,
      );
    } catch (err) {
      if (!stopping) {
        run.error = (err as Error).message;
        say(`${label}: FAILED: ${run.error}`);
      }
    }
    await sleep(250);
    const after = sampleCpu();
    for (const name of Object.keys(after)) run.cpuSeconds[name === 'pgbench' ? 'psql' : name] = Math.max(0, after[name]! - before[name]!);
    for (const [name, pid] of Object.entries(watched)) run.peakRssBytes[name] = treePeakRssBytes(pid);
    copy.push(run);
    return run.transfer;
  };
  for (const path of paths) {
    if (stopping) return;
    await postgres.psql(`TRUNCATE ${COPY_TABLE}`);
    const loaded = await measureCopy(path, 'in', () => copyIn(psql, path, args.copyBytes, track));
    if (loaded) await measureCopy(path, 'out', () => copyOut(psql, path, loaded, track));
  }
  await postgres.psql(`DROP TABLE ${COPY_TABLE}`);

  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cores: availableParallelism(), loadAverageAtStart: load, node: process.version },
    dbWorkers,
    proxyWorkers,
    settings: {
      secondsPerRun: seconds,
      scale: SCALE,
      clients: CLIENTS,
      modes: MODES,
      connections: CONNECTIONS,
      poolMode: POOL_MODE,
      copyBytes: args.copyBytes,
    },
    pgbouncerVersion,
    connect,
    cells,
    copy,
  };
  process.stdout.write(`\n${report(results)}`);
  writeResults(args.jsonPath, results);
  const shown = relative(process.cwd(), args.jsonPath);
  say(`results written to ${shown.startsWith('..') ? args.jsonPath : shown}`);
  if (telemetry) {
    say(`telemetry: ${telemetry.summary()}`);
    process.stdout.write(`\nSpans received, by name (the connection setup's are in 'postgres session')\n${telemetry.spanTable()}\n`);
  }
}

main()
  .then(async () => {
    if (stopping) return;
    say('stopping pgbouncer, the Database Service, teleport, PostgreSQL and nats-server');
    await stopAll();
    say('done');
    process.exit(0);
  })
  .catch(async (err: Error) => {
    if (stopping) return;
    process.stderr.write(`ERROR: ${err.message}\n`);
    await stopAll();
    process.exit(1);
  });
