// db_service.workers: `teleport db start --workers=2` runs a second process, a Database Service of its
// own under data_dir/workers/2, and the broker spreads sessions over both. Every statement is audited
// once whichever worker ran it; a worker killed with SIGKILL is started again and sends what its spool
// held; a spool left by a worker no longer asked for is sent by the first.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresCluster } from '#libs/testing';
import { AuditSpool } from '../../services/db/src/audit/audit-spool.js';
import { readAudit, waitForSpoolDrained } from '../support/audit-log.js';
import { TestCluster } from '../support/cluster.js';
import { startDbService, type DbServiceProcess } from '../support/data-plane.js';
import { childrenOf, until } from '../support/processes.js';
import { compareStatements, loggedStatements, pgbenchCluster, pgbenchThroughProxy, type PgbenchVia } from '../support/pgbench.js';

const DB_USER = 'bench';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess & { dataDir: string };
let via: PgbenchVia;
let workerDir: string;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'workers' });
  ({ postgres, service, via } = await pgbenchCluster(cluster, DB_USER, { args: ['--workers=2'] }));
  workerDir = join(service.dataDir, 'workers', '2');
}, 240_000);

afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

const hostIdOf = (dataDir: string) => readFileSync(join(dataDir, 'host_uuid'), 'utf8').trim();

/**
 * Once both workers' spools are drained: the statements PostgreSQL logged from DB_USER that no
 * db.session.query event has, those audited beyond them, and events stored twice.
 */
async function auditAgainstPostgres(): Promise<{ logged: number; missing: string[]; extra: string[]; repeated: number }> {
  await waitForSpoolDrained(service.dataDir);
  await waitForSpoolDrained(workerDir);
  const messages = await readAudit(cluster);
  const audited = messages
    .filter((m) => m.event.db_user === DB_USER && m.event.event === 'db.session.query')
    .map((m) => m.event.db_query as string);
  const logged = loggedStatements(postgres, DB_USER);
  return {
    logged: logged.length,
    ...compareStatements(logged, audited),
    repeated: messages.length - new Set(messages.map((m) => m.event.uid)).size,
  };
}

it('runs two processes that share the sessions, each statement audited once', async () => {
  expect(childrenOf(service.process.pid!)).toHaveLength(1);
  expect(service.logs()).toContain('worker 2 of the Database Service is up');
  // A connection per transaction (-C): 60 sessions, which the broker spreads over both workers.
  const run = pgbenchThroughProxy(['-n', '-S', '-C', '-c', '2', '-t', '30'], via);
  const { code, output } = await run.done;
  expect({ code, output }).toMatchObject({ code: 0 });

  const audit = await auditAgainstPostgres();
  expect(audit.logged).toBeGreaterThanOrEqual(60);
  expect(audit).toMatchObject({ missing: [], extra: [], repeated: 0 });
  const starts = (await readAudit(cluster, ['audit.*.db.session.start'])).map((m) => m.event).filter((e) => e.db_user === DB_USER);
  expect(starts.length).toBeGreaterThanOrEqual(60);
  expect(new Set(starts.map((e) => e.server_id))).toEqual(new Set([hostIdOf(service.dataDir), hostIdOf(workerDir)]));
}, 120_000);

it('starts a worker killed with SIGKILL again, and its events reach the audit log', async () => {
  const [worker] = childrenOf(service.process.pid!);
  const run = pgbenchThroughProxy(['-n', '-S', '-c', '4', '-T', '6'], via);
  await new Promise((r) => setTimeout(r, 2_000));
  process.kill(worker!, 'SIGKILL');
  // pgbench's sessions on the killed worker fail: only what PostgreSQL executed matters here.
  await run.done;
  const restarted = await until('the worker to be started again', () => childrenOf(service.process.pid!).find((pid) => pid !== worker));
  expect(restarted).not.toBe(worker);
  await until('it to serve again', () => (service.logs().split('worker 2 of the Database Service is up').length === 3 ? true : undefined));
  expect(service.logs()).toMatch(/worker 2 of the Database Service stopped \(SIGKILL\); starting it again/);

  const audit = await auditAgainstPostgres();
  expect(audit).toMatchObject({ missing: [], extra: [], repeated: 0 });
}, 120_000);

it('sends what the spool of a worker no longer asked for holds, from the first worker', async () => {
  await service.stop();
  // Worker 3 of an earlier, bigger setting stopped with an event not yet in the audit log.
  const leftDir = join(service.dataDir, 'workers', '3');
  const spool = AuditSpool.open({ dir: join(leftDir, 'audit-spool'), maxBytes: 64 * 1024 * 1024 });
  const sid = randomUUID();
  const uid = randomUUID();
  const event = {
    ei: 0,
    event: 'db.session.query',
    uid,
    code: 'TDB02I',
    time: new Date().toISOString(),
    sid,
    db_user: 'left-behind',
    db_query: 'SELECT 1',
    success: true,
  };
  expect(spool.stage(`audit.${sid}.db.session.query`, uid, JSON.stringify(event))).toBe(true);
  expect(spool.commit()).toBe(true);
  await spool.close();

  service = await startDbService(
    cluster,
    { name: 'example', uri: `localhost:${postgres.port}` },
    { dataDir: service.dataDir, args: ['--workers=2'] },
  );
  await waitForSpoolDrained(leftDir);
  const stored = (await readAudit(cluster, [`audit.${sid}.>`])).map((m) => m.event);
  expect(stored).toEqual([event]);
  expect(service.logs()).toMatch(/workers\/3\/audit-spool holds .* of audit events of a worker that no longer runs; sending them/);
  expect(childrenOf(service.process.pid!)).toHaveLength(1);
}, 120_000);

it('stops its workers when it is killed itself', async () => {
  const workers = childrenOf(service.process.pid!);
  expect(workers).toHaveLength(1);
  service.process.kill('SIGKILL');
  // The worker sees its channel to the first close and stops as on SIGTERM.
  await until('the worker to stop', () => (workers.every((pid) => !existsSync(`/proc/${pid}`)) ? true : undefined), 20_000);
}, 60_000);
