// A three-node NATS cluster (`teleport nats configure --routes`, `teleport.nats.replicas: 3`): every
// stream and bucket has three copies; SIGKILL of the node leading the AUDIT stream in the middle of a
// pgbench run loses no audit event (PostgreSQL's own statement log against the stored events), the
// sessions go on, new ones connect, and the node rejoins with its copies caught up. SIGKILL of the node
// leading the audit index's consumer holds the index back for seconds, not the half minute nats.js
// takes by default to notice that a pull went unanswered.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { RpcClient } from '#libs/bus';
import { Buckets, Rpc, Streams, type AuditRpc } from '#libs/events';
import type { PostgresCluster } from '#libs/testing';
import { busClient } from '../support/bus.js';
import { TestCluster } from '../support/cluster.js';
import type { DbServiceProcess } from '../support/data-plane.js';
import { auditAgainstLog, loggedStatements, pgbenchCluster, pgbenchThroughProxy, type PgbenchVia } from '../support/pgbench.js';

const CLUSTER = 'nats-cluster';
const DB_USER = 'bench';
const STREAMS = [Streams.Cluster.name, Streams.Audit.name, ...Object.values(Buckets).map((b) => `KV_${b}`)];

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess & { dataDir: string };
let via: PgbenchVia;
let nc: NatsConnection;
let rpc: RpcClient;
let jsm: JetStreamManager;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER, natsNodes: 3 });
  ({ postgres, service, via } = await pgbenchCluster(cluster, DB_USER));
  ({ nc, rpc } = await busClient(cluster));
  jsm = await jetstreamManager(nc);
}, 180_000);

afterAll(async () => {
  await nc?.close();
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

/** Waits until every stream and bucket has its three copies, all caught up with the leader. */
async function waitForReplicas(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lagging: string[] = [];
    for (const name of STREAMS) {
      const info = await jsm.streams.info(name).catch(() => undefined);
      const copies = info?.cluster?.replicas ?? [];
      if (!info?.cluster?.leader || copies.length !== 2 || copies.some((r) => !r.current || r.offline))
        lagging.push(`${name}: ${JSON.stringify(info?.cluster ?? 'no answer')}`);
    }
    if (lagging.length === 0) return;
    if (Date.now() > deadline) throw new Error(`not every copy is current after ${timeoutMs} ms:\n${lagging.join('\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

it('replicates every stream and bucket on three nodes', async () => {
  for (const name of STREAMS) expect((await jsm.streams.info(name)).config.num_replicas).toBe(3);
  await waitForReplicas(30_000);
});

it('loses no audit event when the AUDIT leader is killed mid-run; the node rejoins', async () => {
  const run = pgbenchThroughProxy(['-n', '-S', '-c', '4', '-j', '2', '-t', '2000'], via);
  while (loggedStatements(postgres, DB_USER).length < 2_000) {
    if (run.child.exitCode !== null) throw new Error(`pgbench ended early: ${(await run.done).output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const leader = (await jsm.streams.info(Streams.Audit.name)).cluster!.leader!;
  const node = cluster.natsNodes[Number(leader.replace('nats-', ''))]!;
  await node.down('SIGKILL');
  try {
    // While the node is down: the running sessions go on, and new ones connect.
    const during = await pgbenchThroughProxy(['-n', '-S', '-C', '-c', '2', '-t', '10'], via).done;
    expect(during.output).toMatch(/number of transactions actually processed: 20\/20/);
    const { code, output } = await run.done;
    expect(output).toMatch(/number of transactions actually processed: 8000\/8000/);
    expect(code).toBe(0);
  } finally {
    // Also when it failed: the next test needs all three nodes.
    await node.up();
    await waitForReplicas(60_000);
  }

  const { logged, missing, extra, repeated } = await auditAgainstLog(cluster, postgres, service.dataDir, DB_USER);
  expect(repeated).toBe(0);
  expect(logged.length).toBeGreaterThanOrEqual(8_020);
  expect(missing).toEqual([]);
  expect(extra).toEqual([]);
}, 240_000);

/** Sessions that ended since `from`, as the audit index has them. */
async function indexedEnds(from: Date): Promise<number> {
  const page = await rpc.call<AuditRpc.EventsPage>(Rpc.Audit.EventsSearch, {
    from: from.toISOString(),
    event_types: ['db.session.end'],
    limit: 1000,
  });
  return page.events.length;
}

it('indexes new events within seconds when the node leading the index consumer is killed', async () => {
  let leader: string | undefined;
  for await (const c of jsm.consumers.list(Streams.Audit.name)) if (c.name.startsWith('audit-index-')) leader = c.cluster?.leader;
  const node = cluster.natsNodes[Number(leader!.replace('nats-', ''))]!;
  const from = new Date();
  await node.down('SIGKILL');
  try {
    const { output } = await pgbenchThroughProxy(['-n', '-S', '-C', '-c', '2', '-t', '5'], via).done;
    expect(output).toMatch(/number of transactions actually processed: 10\/10/);
    const ended = Date.now();
    // The sessions' events reach the stream (once it has a leader) and then the index.
    while ((await indexedEnds(from).catch(() => 0)) < 10) {
      if (Date.now() - ended > 15_000) throw new Error(`the index has ${await indexedEnds(from)} of the 10 sessions 15 s after they ended`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await node.up();
    await waitForReplicas(60_000);
  }
}, 180_000);
