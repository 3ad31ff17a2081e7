import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import {
  loginUser,
  proxyConnection,
  startClusterPostgres,
  startDbService,
  startProxy,
  type DbServiceProcess,
  type ProxyProcess,
} from '../support/data-plane.js';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;
let secondProxy: ProxyProcess;
let serviceFile: string;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'cancel' });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
  secondProxy = await startProxy(cluster);
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
  serviceFile = join(cluster.dir, 'pg_service.conf');
  const login = await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', 'example'], {
    env: { PGSERVICEFILE: serviceFile },
  });
  if (login.code !== 0) throw new Error(login.stderr);
});
afterAll(async () => {
  await secondProxy?.stop();
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

it('cancels pg_sleep(60) within 2s when plain psql with the service file gets SIGINT', async () => {
  const psql = spawn('psql', ['service=cancel-example', '-X', '-c', 'select pg_sleep(60)'], {
    env: { ...process.env, PGSERVICEFILE: serviceFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  psql.stdout.on('data', (d: Buffer) => (output += d.toString()));
  psql.stderr.on('data', (d: Buffer) => (output += d.toString()));
  await waitForActiveQuery();
  const sent = Date.now();
  psql.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => psql.once('exit', resolve));
  expect(Date.now() - sent).toBeLessThan(2000);
  expect(output).toContain('canceling statement due to user request');
  expect(code).toBe(1);
});

it('cancels through a different proxy than the one carrying the session', async () => {
  const client = new pg.Client(proxyConnection(serviceFile, 'cancel-example'));
  await client.connect();
  const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
  const running = client.query('select pg_sleep(60)').then(
    () => undefined,
    (err: { code?: string }) => err,
  );
  await waitForActiveQuery();
  const sent = Date.now();
  await sendCancel(secondProxy.addr, processID, secretKey);
  const err = await running;
  expect(Date.now() - sent).toBeLessThan(2000);
  expect(err).toMatchObject({ code: '57014' });
  await client.end();
});

it('ignores cancel keys that belong to no live session', async () => {
  const client = new pg.Client(proxyConnection(serviceFile, 'cancel-example'));
  await client.connect();
  const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
  await client.end();
  // The session is over: its key is forgotten, and a fresh session's query is not touched.
  const other = new pg.Client(proxyConnection(serviceFile, 'cancel-example'));
  await other.connect();
  const running = other.query('select pg_sleep(1.5) as slept');
  await waitForActiveQuery();
  await sendCancel(cluster.proxyAddr, processID, secretKey);
  await expect(running).resolves.toMatchObject({ rows: [{ slept: '' }] });
  await other.end();
});

it('needs the process id and the secret of the key together', async () => {
  const client = new pg.Client(proxyConnection(serviceFile, 'cancel-example'));
  await client.connect();
  const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
  // The key carries the database backend's own process id.
  expect((await client.query('select pg_backend_pid() as pid')).rows[0].pid).toBe(processID);
  const running = client.query('select pg_sleep(1.5) as slept');
  await waitForActiveQuery();
  await sendCancel(cluster.proxyAddr, processID ^ 1, secretKey);
  await sendCancel(cluster.proxyAddr, processID, secretKey ^ 1);
  await expect(running).resolves.toMatchObject({ rows: [{ slept: '' }] });
  await client.end();
});

/** CancelRequest: int32 16, int32 80877102, process id, secret key; on a plain connection, as libpq sends it. */
function sendCancel(addr: string, processId: number, secretKey: number): Promise<void> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  const frame = Buffer.alloc(16);
  frame.writeInt32BE(16, 0);
  frame.writeInt32BE(80877102, 4);
  frame.writeInt32BE(processId, 8);
  frame.writeInt32BE(secretKey, 12);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => socket.end(frame));
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

async function waitForActiveQuery(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const active = await postgres.psql("select count(*) from pg_stat_activity where state = 'active' and query like 'select pg_sleep%'");
    if (Number(active.trim()) > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the query never started');
}
