// proxy_service.workers: `teleport start` with `workers: 2` runs a second proxy process. The first
// accepts every connection and hands it over or keeps it; a Database Service's tunnels name their slot,
// so each process has tunnels of its own and a session succeeds whichever process its client reached.
// A worker killed with SIGKILL is started again and gets tunnels again; stopping the proxy stops it.
import { existsSync } from 'node:fs';
import pg from 'pg';
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import { proxyConnection, startProxy, type DbServiceProcess } from '../support/data-plane.js';
import { auditAgainstLog, pgbenchCluster, pgbenchThroughProxy, type PgbenchVia } from '../support/pgbench.js';
import { queryOnce } from '../support/pg-client.js';
import { acceptedConnections, childrenOf, dialedConnections, until } from '../support/processes.js';

const DB_USER = 'bench';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess & { dataDir: string };
let via: PgbenchVia;
let proxyPort: number;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'proxy-workers', proxyConfig: '  workers: 2\n' });
  proxyPort = Number(cluster.proxyAddr.split(':')[1]);
  // Logging in and `tsh db login` are HTTPS requests, which both processes serve in turn.
  ({ postgres, service, via } = await pgbenchCluster(cluster, DB_USER));
}, 240_000);

afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

/** How many of the Database Service's connections to the proxy (its tunnels, its bus connection) process `pid` holds. */
function fromService(pid: number): number {
  const dialed = new Set(
    dialedConnections(proxyPort)
      .filter((c) => c.pid === service.process.pid)
      .map((c) => c.localPort),
  );
  return acceptedConnections(proxyPort).filter((c) => c.pid === pid && dialed.has(c.peerPort)).length;
}

/**
 * Until the Database Service's 8 tunnels (slot n to process n mod 2: 4 each) and its bus connection (to
 * either, in turn with every other connection) are in.
 */
async function tunnelsInBoth(first: number, second: number): Promise<void> {
  await until(
    'tunnels in both proxy processes',
    () => {
      const [a, b] = [fromService(first), fromService(second)];
      return a >= 4 && b >= 4 && a + b === 9 ? true : undefined;
    },
    30_000,
  );
}

/** The client's own port of its connection to the proxy. */
function localPort(client: pg.Client): number {
  return (client as unknown as { connection: { stream: { localPort: number } } }).connection.stream.localPort;
}

it('hands connections to its second process, which has tunnels of its own', async () => {
  const first = cluster.pid()!;
  const [second] = childrenOf(first);
  expect(second).toBeDefined();
  expect(cluster.logs()).toContain('worker 2 of the proxy is up');
  expect(cluster.logs()).toContain('2 workers serve the proxy: this process and 1 more');
  await tunnelsInBoth(first, second!);

  // Sessions held open at once: the first process keeps some and hands the others over.
  const clients = Array.from({ length: 6 }, () => new pg.Client(proxyConnection(via.serviceFile, via.section)));
  try {
    await Promise.all(clients.map((c) => c.connect()));
    for (const c of clients) expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    const ports = new Set(
      clients.map((c) => (c as unknown as { connection: { stream: { localPort: number } } }).connection.stream.localPort),
    );
    const owners = acceptedConnections(proxyPort).filter((c) => ports.has(c.peerPort));
    expect(owners).toHaveLength(6);
    expect(new Set(owners.map((c) => c.pid))).toEqual(new Set([first, second]));
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }

  // A connection per transaction: 60 sessions, half through each process, every statement audited once.
  const { code, output } = await pgbenchThroughProxy(['-n', '-S', '-C', '-c', '2', '-t', '30'], via).done;
  expect({ code, output }).toMatchObject({ code: 0, output: expect.stringContaining('number of transactions actually processed: 60/60') });
  const audit = await auditAgainstLog(cluster, postgres, service.dataDir, DB_USER);
  expect(audit.logged.length).toBeGreaterThanOrEqual(60);
  expect(audit).toMatchObject({ missing: [], extra: [], repeated: 0 });
}, 120_000);

it('starts a proxy process killed with SIGKILL again, which gets tunnels again', async () => {
  const first = cluster.pid()!;
  const [second] = childrenOf(first);
  process.kill(second!, 'SIGKILL');
  const restarted = await until('the proxy worker to be started again', () => childrenOf(first).find((pid) => pid !== second));
  await until('it to serve', () => (cluster.logs().split('worker 2 of the proxy is up').length === 3 ? true : undefined));
  expect(cluster.logs()).toMatch(/worker 2 of the proxy stopped \(SIGKILL\); starting it again/);
  await tunnelsInBoth(first, restarted);

  const { code, output } = await pgbenchThroughProxy(['-n', '-S', '-C', '-c', '2', '-t', '20'], via).done;
  expect({ code, output }).toMatchObject({ code: 0, output: expect.stringContaining('number of transactions actually processed: 40/40') });
}, 120_000);

it('runs workers in a proxy that joined with a token, and the Database Service keeps tunnels to each', async () => {
  const other = await startProxy(cluster, { proxyConfig: '  workers: 2\n' });
  try {
    const [second] = childrenOf(other.process.pid!);
    expect(other.logs()).toContain('worker 2 of the proxy is up');
    const port = Number(other.addr.split(':')[1]);
    const config = proxyConnection(via.serviceFile, via.section, { host: '127.0.0.1', port });
    // The Database Service learns of the proxy (and that it runs two processes) at its next heartbeat.
    await until(
      'sessions through the joined proxy',
      () =>
        queryOnce(config, 'SELECT 1').then(
          () => true,
          () => undefined,
        ),
      30_000,
    );
    const clients = Array.from({ length: 4 }, () => new pg.Client(config));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      for (const c of clients) expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      const ports = new Set(clients.map(localPort));
      const owners = acceptedConnections(port).filter((c) => ports.has(c.peerPort));
      expect(new Set(owners.map((c) => c.pid))).toEqual(new Set([other.process.pid, second]));
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    }
  } finally {
    await other.stop();
  }
}, 120_000);

it('stops its second process when it stops', async () => {
  const first = cluster.pid()!;
  const [second] = childrenOf(first);
  const t0 = Date.now();
  await cluster.stopProcess();
  // Within the harness's grace of 10 s (it kills the process then), and without its own 10 s timer.
  expect(Date.now() - t0).toBeLessThan(9_000);
  expect(cluster.logs()).not.toContain('did not stop');
  await until('the proxy worker to stop', () => (existsSync(`/proc/${second}`) ? undefined : true), 20_000);
}, 60_000);
