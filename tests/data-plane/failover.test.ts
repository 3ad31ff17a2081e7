// Scale-out and failover: three Database Services serving one database and two proxies, 30 pgbench
// clients spread over them. SIGKILL of a Database Service: the sessions it held end, each with a
// recorded db.session.end, and new connections succeed on the others at once. SIGKILL of a proxy: only
// the sessions it carried end; the other proxy's clients go on untouched.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditEvent } from '#libs/events';
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import {
  loginUser,
  startClusterPostgres,
  startDbService,
  startProxy,
  tempDir,
  type DbServiceProcess,
  type ProxyProcess,
} from '../support/data-plane.js';
import { readAudit, type AuditMessage } from '../support/audit-log.js';
import { pgbenchInit, pgbenchThroughProxy, type PgbenchRun } from '../support/pgbench.js';

const CLUSTER = 'failover';
const DB_USER = 'bench';
const SECTION = `${CLUSTER}-example`;

let cluster: TestCluster;
let postgres: PostgresCluster;
let services: Array<DbServiceProcess & { dataDir: string; hostId: string }>;
let secondProxy: ProxyProcess;
/** `tsh db login`'s service file for each proxy: the first as saved, the second with that proxy's port. */
let via: Array<{ serviceFile: string; home: string; section: string }>;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  postgres = await startClusterPostgres(cluster);
  await pgbenchInit(postgres, 1);
  await postgres.psql(`CREATE USER ${DB_USER};\nGRANT SELECT ON ALL TABLES IN SCHEMA public TO ${DB_USER};\n`);
  services = [];
  for (let i = 0; i < 3; i++) {
    const service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
    services.push({ ...service, hostId: readFileSync(join(service.dataDir, 'host_uuid'), 'utf8').trim() });
  }
  secondProxy = await startProxy(cluster);
  await loginUser(cluster, DB_USER, ['--roles=access', `--db-users=${DB_USER}`, '--db-names=*']);
  const home = tempDir(cluster, 'home-');
  const serviceFile = join(home, 'pg_service.conf');
  const login = await cluster.tsh(['db', 'login', `--db-user=${DB_USER}`, '--db-name=postgres', 'example'], {
    env: { PGSERVICEFILE: serviceFile, HOME: home },
  });
  if (login.code !== 0) throw new Error(login.stderr);
  const secondFile = join(home, 'pg_service-proxy2.conf');
  const [firstPort, secondPort] = [cluster.proxyAddr, secondProxy.addr].map((a) => a.split(':').at(-1));
  writeFileSync(secondFile, readFileSync(serviceFile, 'utf8').replace(`port=${firstPort}\n`, `port=${secondPort}\n`));
  via = [
    { serviceFile, home, section: SECTION },
    { serviceFile: secondFile, home, section: SECTION },
  ];
}, 240_000);

afterAll(async () => {
  for (const service of services ?? []) await service.stop();
  await secondProxy?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

/** Sessions of DB_USER as the audit log has them: start (with its Database Service) and end, by session id. */
async function sessions(): Promise<Map<string, { start: AuditMessage['event']; end?: AuditMessage['event'] }>> {
  const bySid = new Map<string, { start: AuditMessage['event']; end?: AuditMessage['event'] }>();
  // Session starts and ends alone: the stream holds some hundred thousand statements besides.
  const events = (await readAudit(cluster, ['audit.*.db.session.start', 'audit.*.db.session.end']))
    .map((m) => m.event)
    .filter((e) => e.db_user === DB_USER);
  for (const e of events) if (e.event === AuditEvent.SessionStart && e.success !== false) bySid.set(e.sid, { start: e });
  for (const e of events) if (e.event === AuditEvent.SessionEnd && bySid.has(e.sid)) bySid.get(e.sid)!.end = e;
  return bySid;
}

/** Waits until every session started so far has its end recorded. */
async function waitForAllEnded(timeoutMs: number): Promise<Map<string, { start: AuditMessage['event']; end?: AuditMessage['event'] }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await sessions();
    const open = [...all.values()].filter((s) => !s.end);
    if (open.length === 0) return all;
    if (Date.now() > deadline)
      throw new Error(`${open.length} of ${all.size} sessions have no db.session.end: ${open.map((s) => s.start.server_id).join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** pgbench through proxy `p` (0 or 1): 15 clients for `seconds`, select-only. */
const bench = (p: number, clients: number, seconds: number): PgbenchRun =>
  pgbenchThroughProxy(['-n', '-S', '-c', String(clients), '-j', '2', '-T', String(seconds)], via[p]!);

/** New connections through both proxies, one per transaction: every one must succeed. */
async function newConnections(count: number): Promise<void> {
  const runs = [0, 1].map((p) => pgbenchThroughProxy(['-n', '-S', '-C', '-c', '2', '-t', String(count / 4)], via[p]!).done);
  for (const { output } of await Promise.all(runs)) expect(output).toMatch(new RegExp(`actually processed: ${count / 2}/${count / 2}`));
}

async function waitForLiveSessions(count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const live = Number((await postgres.psql(`select count(*) from pg_stat_activity where usename = '${DB_USER}'`)).trim());
    if (live >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${live} of ${count} sessions are connected`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('spreads 30 clients over three Database Services; SIGKILL of one ends its sessions with recorded ends', async () => {
  const runs = [bench(0, 15, 20), bench(1, 15, 20)];
  await waitForLiveSessions(30);
  // pgbench's own first connection (it looks at the tables, then leaves) has ended: the 30 others are live.
  const before = new Map([...(await sessions())].filter(([, s]) => !s.end));
  const perService = services.map((s) => [...before.values()].filter((x) => x.start.server_id === s.hostId).length);
  expect(perService.reduce((a, b) => a + b)).toBe(30);
  for (const n of perService) expect(n).toBeGreaterThan(0);

  const [victim] = services.splice(perService.indexOf(Math.max(...perService)), 1);
  await victim!.stop('SIGKILL');
  // New connections, through both proxies, succeed on the two Database Services left.
  await newConnections(40);

  const outcomes = await Promise.all(runs.map((r) => r.done));
  // The clients whose sessions the killed service held lost them; the others ran to the end.
  const victimSessions = [...before.values()].filter((x) => x.start.server_id === victim!.hostId).length;
  const aborted = outcomes.flatMap((o) => o.output.match(/client \d+ aborted/g) ?? []).length;
  expect(aborted).toBe(victimSessions);

  // Every session of the killed service has its end, recorded for it once it stopped answering.
  const after = await waitForAllEnded(90_000);
  const ended = [...after.values()].filter((x) => x.start.server_id === victim!.hostId && before.has(x.start.sid));
  expect(ended).toHaveLength(victimSessions);
  for (const { start, end } of ended) {
    expect(end).toMatchObject({ code: 'TDB01I', user: DB_USER, db_service: 'example', server_id: victim!.hostId });
    expect(end!.message).toMatch(/stopped answering/);
    expect(end!.session_start).toBe(start.time);
  }
}, 240_000);

it("ends only a killed proxy's sessions; the other proxy's clients go on", async () => {
  const runs = [bench(0, 10, 10), bench(1, 10, 10)];
  await waitForLiveSessions(20);
  await secondProxy.stop('SIGKILL');
  const [first, second] = await Promise.all(runs.map((r) => r.done));
  expect(first!.code).toBe(0);
  expect(first!.output).not.toMatch(/aborted/);
  expect(second!.output.match(/client \d+ aborted/g)).toHaveLength(10);
  // The Database Services end the sessions the dead proxy carried, each with its own end event.
  const after = await waitForAllEnded(30_000);
  const survivors = new Set(services.map((s) => s.hostId));
  for (const { end } of [...after.values()].filter((x) => survivors.has(x.start.server_id))) expect(end!.message).toBeUndefined();
}, 120_000);
