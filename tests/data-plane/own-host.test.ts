// Guide 001's Database Service on a host of its own (a network namespace standing in for it): it is
// given only the proxy's address, joins with the guide's command line, reaches the bus and receives
// its sessions over connections it dials out itself, and listens on no port.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startPostgres, type PostgresCluster } from '#libs/testing';
import { waitForSession } from '../support/audit-log.js';
import { stopChild, TestCluster, BIN } from '../support/cluster.js';
import { loginUser, proxyConnection, tempDir } from '../support/data-plane.js';
import { createTestHost, type TestHost } from '../support/netns.js';
import { queryOnce } from '../support/pg-client.js';
import { pgClientEnv } from '../support/psql.js';

const CLUSTER = 'own-host';

let cluster: TestCluster;
let host: TestHost;
let postgres: PostgresCluster;
let dbService: { logs(): string; stop(): Promise<void> };
let serviceFile: string;
let proxyPort: number;

beforeAll(async () => {
  host = createTestHost();
  cluster = await TestCluster.start({ clusterName: CLUSTER, proxyListenHost: '0.0.0.0' });
  proxyPort = Number(cluster.proxyAddr.split(':')[1]);

  // The database, reachable from the Database Service's host at this host's address.
  const certs = join(tempDir(cluster, 'pg-certs-'), 'server');
  const signed = await cluster.tctl([
    'auth',
    'sign',
    '--format=db',
    `--host=${host.hostAddr},localhost,127.0.0.1`,
    `--out=${certs}`,
    '--ttl=2190h',
  ]);
  if (signed.code !== 0) throw new Error(signed.stderr);
  postgres = await startPostgres({
    tls: { certFile: `${certs}.crt`, keyFile: `${certs}.key`, caFile: `${certs}.cas` },
    extraConf: `listen_addresses = '127.0.0.1,${host.hostAddr}'`,
  });
  await postgres.psql('CREATE USER alice;');

  // Step 4/5 of guide 001, on the other host: a token in a file, the proxy's address, one database.
  const token = await cluster.tctl(['tokens', 'add', '--type=db', '--format=text']);
  const dataDir = tempDir(cluster, 'db-host-');
  const tokenFile = join(dataDir, 'token');
  writeFileSync(tokenFile, token.stdout);
  const child = host.spawn(process.execPath, [
    BIN.teleport,
    'db',
    'start',
    `--token=${tokenFile}`,
    `--auth-server=${host.hostAddr}:${proxyPort}`,
    '--name=example',
    '--protocol=postgres',
    `--uri=${host.hostAddr}:${postgres.port}`,
    '--labels=env=dev',
    `--data-dir=${dataDir}`,
  ]);
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  dbService = { logs: () => log, stop: () => stopChild(child, 10_000) };
  const deadline = Date.now() + 60_000;
  while (!log.includes('the Database Service is up')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`teleport db start on the other host did not come up:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
  serviceFile = join(tempDir(cluster, 'home-'), 'pg_service.conf');
  const login = await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', 'example'], {
    env: { PGSERVICEFILE: serviceFile },
  });
  if (login.code !== 0) throw new Error(login.stderr);
}, 180_000);

afterAll(async () => {
  await dbService?.stop();
  await postgres?.stop();
  await cluster?.stop();
  host?.remove();
});

/** Whether a TCP connection from inside the other host to `addr` is accepted. */
function reachableFromHost(addr: string, port: number): boolean {
  const script = `require('net').connect(${port}, '${addr}').on('connect', () => process.exit(0)).on('error', () => process.exit(1)).setTimeout(2000, () => process.exit(1))`;
  try {
    host.run(process.execPath, ['-e', script]);
    return true;
  } catch {
    return false;
  }
}

it("joins with the guide's command line and lists its database", async () => {
  expect(dbService.logs()).toContain(`joined cluster \\"${CLUSTER}\\" through ${host.hostAddr}:${proxyPort}`);
  const ls = await cluster.tsh(['db', 'ls']);
  expect(ls.stdout).toMatch(/example\s.*env=dev/);
});

it('listens on no port, and cannot reach the bus but through the proxy', () => {
  // ss -ltn prints its header line alone when nothing listens.
  expect(host.run('ss', ['-ltnH']).trim()).toBe('');
  const natsPort = Number(cluster.nats.url.split(':').at(-1));
  expect(reachableFromHost(host.hostAddr, natsPort)).toBe(false);
  expect(reachableFromHost('127.0.0.1', natsPort)).toBe(false);
  expect(reachableFromHost(host.hostAddr, proxyPort)).toBe(true);
});

it('serves a psql session with its audit', async () => {
  const rows = await queryOnce<{ who: string }>(
    proxyConnection(serviceFile, `${CLUSTER}-example`, { application_name: 'own-host' }),
    'select current_user as who',
  );
  expect(rows).toEqual([{ who: 'alice' }]);
  const log = await waitForSession(cluster, (s) => s.user_agent === 'own-host' && s.success === true);
  expect(log.messages.map((m) => m.event.event)).toEqual(['db.session.start', 'db.session.query', 'db.session.result', 'db.session.end']);
});

it('cancels a running query when psql gets Ctrl-C (SIGINT)', async () => {
  const psql = spawn('psql', ['service=' + `${CLUSTER}-example`, '-X', '-c', 'select pg_sleep(60)'], {
    env: pgClientEnv({ PGSERVICEFILE: serviceFile }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  psql.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise((r) => setTimeout(r, 1_500));
  const sent = Date.now();
  psql.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => psql.once('exit', resolve));
  expect(Date.now() - sent).toBeLessThan(3_000);
  expect(code).not.toBe(0);
  expect(stderr).toContain('canceling statement due to user request');
});

it('is not reachable from this host: nothing listens at its address', async () => {
  const refused = await new Promise<boolean>((resolve) => {
    const socket = connect(3080, host.nsAddr);
    socket.once('connect', () => resolve(false));
    socket.once('error', () => resolve(true));
  });
  expect(refused).toBe(true);
});
