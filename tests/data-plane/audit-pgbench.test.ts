// 20,000 pgbench transactions through the proxy: every statement PostgreSQL received (its own log,
// log_statement = all) has exactly one db.session.query event in the AUDIT stream, with the same text,
// and the stream has no event twice.
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import type { DbServiceProcess } from '../support/data-plane.js';
import { readAudit, waitForSpoolDrained } from '../support/audit-log.js';
import { compareStatements, loggedStatements, pgbenchCluster, pgbenchThroughProxy, type PgbenchVia } from '../support/pgbench.js';

const CLUSTER = 'pgbench-audit';
const DB_USER = 'bench';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess & { dataDir: string };
let via: PgbenchVia;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  ({ postgres, service, via } = await pgbenchCluster(cluster, DB_USER));
}, 180_000);

afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

it('audits every statement of 20,000 pgbench -S transactions exactly once', async () => {
  const { code, output } = await pgbenchThroughProxy(['-n', '-S', '-c', '4', '-j', '2', '-t', '5000'], via).done;
  expect(code).toBe(0);
  expect(output).toMatch(/number of transactions actually processed: 20000\/20000/);

  // Every session ended (its db.session.end is spooled when the client goes) and the spool is drained.
  let messages = await readAudit(cluster);
  for (const deadline = Date.now() + 30_000; ;) {
    await waitForSpoolDrained(service.dataDir);
    messages = await readAudit(cluster);
    const count = (type: string) => messages.filter((m) => m.event.event === type && m.event.db_user === DB_USER).length;
    if (count('db.session.end') === count('db.session.start')) break;
    if (Date.now() > deadline) throw new Error(`${count('db.session.start')} sessions started, ${count('db.session.end')} ended`);
    await new Promise((r) => setTimeout(r, 250));
  }

  expect(new Set(messages.map((m) => m.event.uid)).size).toBe(messages.length);
  const logged = loggedStatements(postgres, DB_USER);
  expect(logged.filter((s) => s.startsWith('SELECT abalance FROM pgbench_accounts WHERE aid = '))).toHaveLength(20_000);
  const audited = messages.filter((m) => m.event.event === 'db.session.query' && m.event.db_user === DB_USER).map((m) => m.event.db_query);
  const { missing, extra } = compareStatements(logged, audited);
  expect(missing).toEqual([]);
  expect(extra).toEqual([]);
  expect(audited).toHaveLength(logged.length);
}, 180_000);
