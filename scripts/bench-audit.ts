// `npm run bench:audit`: one million audit events through the audit service, all on this machine.
//   1. publishes 1,000,000 events in Teleport's format to the AUDIT stream of a fresh nats-server:
//      one session of 100,000 statements (200,002 events) and 2,000 sessions of 200 statements
//      (402 events each, 20 users, 5 databases), the audit service not running yet;
//   2. starts the audit service (`teleport start --roles=audit`) and times how long it takes to index
//      them all (its consumer acknowledges only what is committed);
//   3. times `tsh recordings ls` as an auditor, and a filtered one;
//   4. times `tsh play --format text` of the 100,000-statement session: until its first statement
//      prints (the median of five starts), and to the end.
// Every process runs on free loopback ports and is stopped at the end, also on Ctrl-C.
// Flags: --events N (or BENCH_AUDIT_EVENTS) to load fewer or more; default 1,000,000.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { auditSubject, Streams } from '#libs/events';
import type { NatsServer } from '#libs/testing';
import { BenchCluster } from './bench/cluster.js';
import { cpuSeconds, LongRunning, natsPid, sleep, treeCpuSeconds } from './bench/procs.js';

const BIG_SESSION_STATEMENTS = 100_000;
const SESSION_STATEMENTS = 200;
const IN_FLIGHT = 4_000;
const FIRST_STATEMENT_RUNS = 5;
const ROOT = resolve(import.meta.dirname, '..', '..');

const argIndex = process.argv.indexOf('--events');
const TOTAL = Number(argIndex > 0 ? process.argv[argIndex + 1] : (process.env.BENCH_AUDIT_EVENTS ?? 1_000_000));
if (!Number.isInteger(TOTAL) || TOTAL < 2 * BIG_SESSION_STATEMENTS + 2) {
  process.stderr.write(`--events must be a whole number of at least ${2 * BIG_SESSION_STATEMENTS + 2}\n`);
  process.exit(2);
}

const t0 = Date.now();
function say(line: string): void {
  const s = Math.round((Date.now() - t0) / 1000);
  process.stdout.write(`[bench:audit ${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
}

let nats: NatsServer | undefined;
let stopping: Promise<void> | undefined;
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const proc of [...LongRunning.started].reverse()) await proc.stop('SIGTERM', 10_000).catch(() => undefined);
    await nats?.stop().catch(() => undefined);
  })();
  return stopping;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    say(`${signal}: stopping everything this run started`);
    void stopAll().then(() => process.exit(130));
  });
}

/** The events of one session, as the Database Service writes them. */
function* sessionEvents(sid: string, user: string, db: string, statements: number, startMs: number): Generator<Record<string, unknown>> {
  const meta = {
    cluster_name: 'bench-audit',
    sid,
    user,
    server_id: 'bench-host',
    'addr.remote': '127.0.0.1:50000',
    db_service: db,
    db_protocol: 'postgres',
    db_uri: 'localhost:5432',
    db_name: 'postgres',
    db_user: user,
    db_roles: ['access'],
    db_type: 'self-hosted',
    db_origin: 'config',
  };
  let ei = 0;
  const at = (ms: number) => new Date(startMs + ms).toISOString();
  yield { ...meta, ei: ei++, event: 'db.session.start', uid: randomUUID(), code: 'TDB00I', time: at(0), success: true };
  for (let i = 0; i < statements; i++) {
    const query = `SELECT id, name, created_at FROM accounts WHERE id = ${i} AND region = 'eu-west-1' ORDER BY created_at DESC LIMIT 10;`;
    yield {
      ...meta,
      ei: ei++,
      event: 'db.session.query',
      uid: randomUUID(),
      code: 'TDB02I',
      time: at(i * 2 + 1),
      db_query: query,
      success: true,
    };
    yield {
      ...meta,
      ei: ei++,
      event: 'db.session.result',
      uid: randomUUID(),
      code: 'TDB10I',
      time: at(i * 2 + 2),
      affected_records: 1,
      success: true,
    };
  }
  yield { ...meta, ei: ei++, event: 'db.session.end', uid: randomUUID(), code: 'TDB01I', time: at(statements * 2 + 1) };
}

function* allEvents(bigSid: string): Generator<Record<string, unknown>> {
  const start = Date.now() - 86_400_000;
  yield* sessionEvents(bigSid, 'user0', 'db0', BIG_SESSION_STATEMENTS, start);
  let produced = 2 * BIG_SESSION_STATEMENTS + 2;
  for (let n = 0; produced < TOTAL; n++) {
    const statements = Math.min(SESSION_STATEMENTS, Math.floor((TOTAL - produced - 2) / 2));
    if (statements < 1) break;
    yield* sessionEvents(randomUUID(), `user${n % 20}`, `db${n % 5}`, statements, start + (n + 1) * 10_000);
    produced += 2 * statements + 2;
  }
}

function rate(count: number, ms: number): string {
  return `${Math.round((count * 1000) / ms).toLocaleString('en-US')}/s`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-bench-audit-'));
  try {
    say('starting nats-server and the cluster (auth, proxy; the audit service stays off for now)');
    const cluster = await BenchCluster.start(dir, 'bench-audit', (n) => (nats = n), 'audit:\n  enabled: false\n');
    await cluster.loginUser('auditor', ['--roles=access,auditor']);

    const { nc } = await cluster.bus();
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const bigSid = randomUUID();
    say(`publishing ${TOTAL.toLocaleString('en-US')} events to the AUDIT stream`);
    const natsServer = natsPid(cluster.nats.port);
    // CPU microseconds per event of a process over a phase.
    const perEvent = (seconds: number, events: number) => `${((seconds * 1e6) / events).toFixed(1)} µs/event`;
    const natsBeforePublish = cpuSeconds(natsServer);
    const published = Date.now();
    let count = 0;
    const inFlight = new Set<Promise<unknown>>();
    for (const event of allEvents(bigSid)) {
      const p = js.publish(auditSubject(event.sid as string, event.event as string), JSON.stringify(event), { msgID: event.uid as string });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
      if (++count % 100_000 === 0) say(`  ${count.toLocaleString('en-US')} published`);
    }
    await Promise.all(inFlight);
    const publishMs = Date.now() - published;
    const lastSeq = (await jsm.streams.info(Streams.Audit.name)).state.last_seq;
    const natsPublish = perEvent(cpuSeconds(natsServer) - natsBeforePublish, count);
    say(`published ${count.toLocaleString('en-US')} events in ${(publishMs / 1000).toFixed(1)} s (${rate(count, publishMs)})`);

    say('starting the audit service: teleport start --roles=audit');
    const indexStart = Date.now();
    const natsBeforeIngest = cpuSeconds(natsServer);
    const audit = new LongRunning('teleport start --roles=audit', process.execPath, [
      join(ROOT, 'dist/cli/teleport/main.js'),
      'start',
      '--roles=audit',
      '-c',
      cluster.configFile,
    ]);
    await audit.waitFor('audit service indexing from sequence');
    const consumer = /audit-index-\S+/.exec(audit.log())?.[0] ?? (await jsm.consumers.list(Streams.Audit.name).next())[0]!.name;
    let acked = 0;
    let lastReport = Date.now();
    // The rate once the service runs: from the first look that finds events indexed.
    let running: { at: number; acked: number } | undefined;
    while (acked < lastSeq) {
      await sleep(250);
      const info = await jsm.consumers.info(Streams.Audit.name, consumer).catch(() => undefined);
      acked = info?.ack_floor.stream_seq ?? 0;
      if (!running && acked > 0 && acked < lastSeq) running = { at: Date.now(), acked };
      if (Date.now() - lastReport >= 5_000) {
        say(`  ${acked.toLocaleString('en-US')} of ${lastSeq.toLocaleString('en-US')} indexed`);
        lastReport = Date.now();
      }
    }
    const indexEnd = Date.now();
    const natsIngest = perEvent(cpuSeconds(natsServer) - natsBeforeIngest, lastSeq);
    const auditIngest = perEvent(treeCpuSeconds(audit.child.pid!), lastSeq);
    const indexMs = indexEnd - indexStart;
    const steady = running ? rate(lastSeq - running.acked, indexEnd - running.at) : 'n/a';
    say(
      `indexed ${lastSeq.toLocaleString('en-US')} events in ${(indexMs / 1000).toFixed(1)} s (${rate(lastSeq, indexMs)}), startup included; ${steady} once running`,
    );
    await nc.close();

    const timed = async (args: string[]) => {
      const start = Date.now();
      const out = await cluster.tsh(args);
      return { ms: Date.now() - start, out };
    };
    const ls = await timed(['recordings', 'ls']);
    const lsUser = await timed(['recordings', 'ls', '--user=user7', '--db=db2', '--limit=1000', '--format=json']);
    say(`tsh recordings ls: ${ls.ms} ms (${ls.out.trim().split('\n').length - 2} rows)`);
    say(
      `tsh recordings ls --user=user7 --db=db2 --limit=1000 --format=json: ${lsUser.ms} ms (${(JSON.parse(lsUser.out) as unknown[]).length} sessions)`,
    );

    const tshPlay = () =>
      new LongRunning('tsh play', process.execPath, [join(ROOT, 'dist/cli/tsh/main.js'), 'play', '--format=text', bigSid], {
        env: { ...process.env, TELEPORT_HOME: cluster.tshHome },
        detached: false,
      });
    // The wait a user sees before playback starts; a few runs, as one run on a busy machine varies by a third.
    say(
      `tsh play --format text of the ${BIG_SESSION_STATEMENTS.toLocaleString('en-US')}-statement session: ${FIRST_STATEMENT_RUNS} starts, then one whole`,
    );
    const firsts: number[] = [];
    for (let i = 0; i < FIRST_STATEMENT_RUNS; i++) {
      const start = Date.now();
      const play = tshPlay();
      const first = new Promise<number>((resolve, reject) => {
        play.child.stdout!.on('data', () => play.log().includes('=> ') && resolve(Date.now() - start));
        play.child.once('exit', (c) => reject(new Error(`tsh play exited with ${c} before a statement: ${play.log().slice(-500)}`)));
        setTimeout(() => reject(new Error('tsh play printed no statement within 30 s')), 30_000).unref();
      });
      firsts.push(await first.finally(() => play.stop()));
    }
    firsts.sort((a, b) => a - b);
    const firstMs = firsts[Math.floor(firsts.length / 2)]!;
    say(`first statement printed after ${firsts.join(', ')} ms`);

    const play = tshPlay();
    const playStart = Date.now();
    const code = await new Promise<number>((r) => play.child.once('exit', (c) => r(c ?? -1)));
    const playMs = Date.now() - playStart;
    if (code !== 0) throw new Error(`tsh play exited with ${code}: ${play.log().slice(-500)}`);
    const statements = (play.log().match(/^postgres=> /gm) ?? []).length;
    say(
      `all ${statements.toLocaleString('en-US')} statements (${(Buffer.byteLength(play.log()) / 1e6).toFixed(1)} MB) in ${(playMs / 1000).toFixed(1)} s`,
    );

    process.stdout.write(
      [
        '',
        `events loaded                      ${count.toLocaleString('en-US')} (${(count - (2 * BIG_SESSION_STATEMENTS + 2)).toLocaleString('en-US')} in 200-statement sessions, ${(2 * BIG_SESSION_STATEMENTS + 2).toLocaleString('en-US')} in one session)`,
        `publish to JetStream               ${(publishMs / 1000).toFixed(1)} s (${rate(count, publishMs)})`,
        `audit service ingest               ${(indexMs / 1000).toFixed(1)} s (${rate(lastSeq, indexMs)}), startup included`,
        `audit service ingest, once running ${steady}`,
        `nats-server CPU, publish           ${natsPublish} (store, acknowledge)`,
        `nats-server CPU, ingest            ${natsIngest} (deliver to the audit service)`,
        `audit service CPU, ingest          ${auditIngest} (startup included)`,
        `tsh recordings ls                  ${ls.ms} ms`,
        `tsh recordings ls --user --db      ${lsUser.ms} ms`,
        `tsh play --format text, first stmt ${firstMs} ms (median of ${FIRST_STATEMENT_RUNS}; ${firsts[0]}-${firsts.at(-1)})`,
        `tsh play --format text, all        ${(playMs / 1000).toFixed(1)} s (${statements.toLocaleString('en-US')} statements)`,
        '',
      ].join('\n'),
    );
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch(async (err: Error) => {
  process.stderr.write(`bench:audit failed: ${err.message}\n`);
  await stopAll();
  process.exit(1);
});
