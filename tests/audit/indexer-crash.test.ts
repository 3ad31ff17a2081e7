// The audit service killed with SIGKILL while 10,000 statements run in several sessions, then started
// again: the index ends with every event of the AUDIT stream exactly once, and each session's summary
// counts every statement once.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import type { PostgresCluster } from '#libs/testing';
import { BIN, stopChild, TestCluster } from '../support/cluster.js';
import { loginUser, proxyConnection, startClusterPostgres, startDbService, tempDir, type DbServiceProcess } from '../support/data-plane.js';
import { readAudit } from '../support/audit-log.js';

const CLUSTER = 'crash-cluster';
const SESSIONS = 4;
const STATEMENTS_PER_SESSION = 2_500;

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;
let serviceFile: string;
let home: string;

interface AuditProcess {
  child: ChildProcess;
  log: () => string;
}

/** `teleport start --roles=audit` on the cluster's config: the audit service alone, in its own process. */
async function startAuditService(): Promise<AuditProcess> {
  const child = spawn(process.execPath, [BIN.teleport, 'start', '--roles=audit', '-c', cluster.configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!log.includes('audit service indexing from sequence')) {
    if (child.exitCode !== null) throw new Error(`the audit service exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`the audit service did not start in 30s:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, log: () => log };
}

beforeAll(async () => {
  // The cluster runs without its audit service; this test runs it in a process of its own.
  cluster = await TestCluster.start({ clusterName: CLUSTER, extraConfig: 'audit:\n  enabled: false\n' });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE ROLE alice LOGIN;\n');
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
  home = tempDir(cluster, 'home-');
  serviceFile = join(home, 'pg_service.conf');
  const login = await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', 'example'], {
    env: { PGSERVICEFILE: serviceFile, HOME: home },
  });
  if (login.code !== 0) throw new Error(login.stderr);
}, 180_000);

afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

async function runSession(index: number): Promise<void> {
  const client = new pg.Client(proxyConnection(serviceFile, `${CLUSTER}-example`, { application_name: `load-${index}` }));
  await client.connect();
  for (let i = 0; i < STATEMENTS_PER_SESSION; i++) await client.query(`SELECT ${index * STATEMENTS_PER_SESSION + i} AS n`);
  await client.end();
}

it('indexes every event exactly once across a SIGKILL and a restart', async () => {
  let audit = await startAuditService();
  try {
    const load = Promise.all(Array.from({ length: SESSIONS }, (_, i) => runSession(i)));

    // Killed mid-load: whatever it committed stays, whatever it had not acknowledged comes again.
    await new Promise((r) => setTimeout(r, 2_500));
    audit.child.kill('SIGKILL');
    await new Promise((r) => audit.child.once('exit', r));
    await new Promise((r) => setTimeout(r, 1_000));
    audit = await startAuditService();
    const resumedAt = Number(/indexing from sequence (\d+)/.exec(audit.log())![1]);
    await load;

    const stream = (await readAudit(cluster)).filter((m) => String(m.event.user_agent ?? '').startsWith('load-'));
    const bySession = new Map<string, Set<string>>();
    for (const m of stream) {
      const uids = bySession.get(m.event.sid) ?? new Set<string>();
      uids.add(m.event.uid);
      bySession.set(m.event.sid, uids);
    }
    expect(bySession.size).toBe(SESSIONS);
    // It resumed where it stopped: neither from the start nor past what was stored while it was down.
    expect(resumedAt).toBeGreaterThan(1);
    expect(resumedAt).toBeLessThanOrEqual(Math.max(...stream.map((m) => m.seq)));

    const env = { TELEPORT_HOME: cluster.tshHome };
    const deadline = Date.now() + 60_000;
    for (const [sid, uids] of bySession) {
      for (;;) {
        const played = await cluster.tsh(['play', '--format=json', sid], { env });
        const events = played.code === 0 ? (JSON.parse(played.stdout) as Array<{ uid: string; ei: number }>) : [];
        if (events.length >= uids.size) {
          // Exactly the stream's events, each once, in order.
          expect(events).toHaveLength(uids.size);
          expect(new Set(events.map((e) => e.uid))).toEqual(uids);
          expect(events.map((e) => e.ei)).toEqual(events.map((_, i) => i));
          break;
        }
        if (Date.now() > deadline)
          throw new Error(`session ${sid}: ${events.length} of ${uids.size} events indexed after 60s\n${audit.log()}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const listed = JSON.parse((await cluster.tsh(['recordings', 'ls', '--format=json'], { env })).stdout) as Array<{
      sid: string;
      statements: number;
      outcome: string;
    }>;
    const loadSessions = listed.filter((s) => bySession.has(s.sid));
    expect(loadSessions).toHaveLength(SESSIONS);
    for (const s of loadSessions) expect(s).toMatchObject({ statements: STATEMENTS_PER_SESSION, outcome: 'ok' });
  } finally {
    await stopChild(audit.child, 10_000);
  }
}, 300_000);
