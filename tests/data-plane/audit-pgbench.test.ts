// 20,000 pgbench transactions through the proxy: every statement PostgreSQL received (its own log,
// log_statement = all) has exactly one db.session.query event in the AUDIT stream, with the same text,
// and the stream has no event twice.
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import type { DbServiceProcess } from '../support/data-plane.js';
import { auditAgainstLog, pgbenchCluster, pgbenchThroughProxy, type PgbenchVia } from '../support/pgbench.js';

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

  const { logged, audited, missing, extra, repeated } = await auditAgainstLog(cluster, postgres, service.dataDir, DB_USER);
  expect(repeated).toBe(0);
  expect(logged.filter((s) => s.startsWith('SELECT abalance FROM pgbench_accounts WHERE aid = '))).toHaveLength(20_000);
  expect(missing).toEqual([]);
  expect(extra).toEqual([]);
  expect(audited).toBe(logged.length);
}, 180_000);
