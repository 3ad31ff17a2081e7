// The Database Service killed with SIGKILL in the middle of pgbench, after NATS was down for 20 s and
// five times with 16 clients: every statement PostgreSQL received (its own log, log_statement = all) has
// exactly one db.session.query event in the AUDIT stream once the service is back with the same data
// dir. The only events allowed beyond PostgreSQL's log are the statements spooled but not yet forwarded
// when the process died: at most one per pgbench client per kill.
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import { startDbService, type DbServiceProcess } from '../support/data-plane.js';
import { readAudit, waitForSpoolDrained } from '../support/audit-log.js';
import {
  compareStatements,
  loggedStatements,
  pgbenchCluster,
  pgbenchThroughProxy,
  type PgbenchRun,
  type PgbenchVia,
} from '../support/pgbench.js';

const CLUSTER = 'spool-faults';
const DB_USER = 'bench';
const SELECT = 'SELECT abalance FROM pgbench_accounts WHERE aid = ';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess & { dataDir: string };
let via: PgbenchVia;
/** pgbench clients whose session was cut by a kill, so far: the bound on statements spooled, never received. */
let cut = 0;

const db = () => ({ name: 'example', uri: `localhost:${postgres.port}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const selects = () => loggedStatements(postgres, DB_USER).filter((s) => s.startsWith(SELECT)).length;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  ({ postgres, service, via } = await pgbenchCluster(cluster, DB_USER));
}, 180_000);

afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

/** Until PostgreSQL has received `more` statements beyond `from`. */
async function untilStatements(from: number, more: number, run: PgbenchRun): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (selects() < from + more) {
    if (run.child.exitCode !== null) throw new Error(`pgbench exited early:\n${(await run.done).output}`);
    if (Date.now() > deadline) throw new Error(`PostgreSQL received ${selects() - from} of ${more} statements in 60 s`);
    await sleep(100);
  }
}

async function kill(clients: number, run: PgbenchRun): Promise<void> {
  const exited = new Promise((r) => service.process.once('exit', r));
  service.process.kill('SIGKILL');
  await exited;
  cut += clients;
  // Its clients lost their sessions: pgbench reports them aborted and exits.
  const { output } = await run.done;
  expect(output).toMatch(/aborted|terminat|connection|closed/i);
}

/** The Database Service again, on the same data dir: the same identity and the spool its predecessor left. */
async function restart(): Promise<void> {
  // Auth may still be reconnecting to NATS: the service's start needs a join token from it.
  for (const deadline = Date.now() + 30_000; ;) {
    const ready = await cluster.tctl(['tokens', 'ls']);
    if (ready.code === 0) break;
    if (Date.now() > deadline) throw new Error(`auth did not answer after NATS came back: ${ready.stderr}`);
    await sleep(250);
  }
  service = await startDbService(cluster, db(), { dataDir: service.dataDir });
}

/** Every statement PostgreSQL received from pgbench is audited exactly once; none is stored twice. */
async function expectEveryStatementAuditedOnce(): Promise<{ logged: number; audited: number }> {
  await waitForSpoolDrained(service.dataDir, 90_000);
  const messages = await readAudit(cluster);
  expect(new Set(messages.map((m) => m.event.uid)).size).toBe(messages.length);
  const audited = messages.filter((m) => m.event.event === 'db.session.query' && m.event.db_user === DB_USER).map((m) => m.event.db_query);
  const logged = loggedStatements(postgres, DB_USER);
  const { missing, extra } = compareStatements(logged, audited);
  expect(missing).toEqual([]);
  expect(extra.length).toBeLessThanOrEqual(cut);
  for (const statement of extra) expect(statement.startsWith(SELECT)).toBe(true);
  return { logged: logged.length, audited: audited.length };
}

it('loses nothing when NATS is down for 20 s and then the Database Service is killed', async () => {
  // At a bounded rate (-R), so that what piles up in the spool drains in a test's time on a busy machine.
  const run = pgbenchThroughProxy(['-n', '-S', '-c', '8', '-j', '2', '-R', '1500', '-T', '120'], via);
  await untilStatements(0, 500, run);
  await cluster.nats.down();
  const atOutage = selects();
  await sleep(20_000);
  // Sessions went on at full speed while NATS was away: their audit is in the spool only.
  const duringOutage = selects() - atOutage;
  expect(duringOutage).toBeGreaterThan(1_000);
  await kill(8, run);
  await cluster.nats.up();
  await restart();
  expect(service.logs()).toMatch(/the audit spool holds \S+ \S+ of events not yet in the audit log; sending them/);
  const { logged } = await expectEveryStatementAuditedOnce();
  expect(logged).toBeGreaterThan(duringOutage);
}, 240_000);

it('loses nothing when the Database Service is killed during pgbench with 16 clients, five times over', async () => {
  for (let round = 0; round < 5; round++) {
    const run = pgbenchThroughProxy(['-n', '-S', '-c', '16', '-j', '2', '-T', '120'], via);
    await untilStatements(selects(), 1_500, run);
    await kill(16, run);
    await restart();
  }
  await expectEveryStatementAuditedOnce();
}, 240_000);
