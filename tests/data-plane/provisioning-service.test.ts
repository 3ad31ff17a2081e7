// Provisioning on its own (docs/provisioning.md): the Database Services leave it to the one process of
// the network that holds the admin users (`teleport start --roles=provisioning`, joined with a
// provisioning token), which answers their sessions on the bus. A Database Service's own credentials
// get no certificate for the admin user outside such a session.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { connectNats, RpcClient } from '#libs/bus';
import { Rpc } from '#libs/events';
import { generateKeyPair } from '#libs/pki';
import type { PostgresCluster } from '#libs/testing';
import { dbServiceCredentials } from '../support/bus.js';
import { BIN, stopChild, TestCluster } from '../support/cluster.js';
import { startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';
import { expectOk } from '../support/elsewhere.js';
import { connectFailure } from '../support/pg-client.js';
import { dbUser, eventually, person, provisioningEvents, type Person } from '../support/provisioning.js';

const AUTO_DB_USERS = `kind: role
version: v7
metadata: {name: auto-db-users}
spec:
  options: {create_db_user_mode: keep}
  allow:
    db_labels: {'*': '*'}
    db_names: ['*']
    db_roles: [reader]
`;

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;
let alice: Person;
let provisioning: { logs(): string; stop(): Promise<void> } | undefined;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'provisioning-service' });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER "teleport-admin" login createrole; CREATE ROLE reader;');
  service = await startDbService(
    cluster,
    { name: 'example', uri: `localhost:${postgres.port}`, adminUser: { name: 'teleport-admin' } },
    { provisioning: false },
  );
  expectOk(await cluster.tctl(['create'], { input: AUTO_DB_USERS }));
  alice = await person(cluster, 'alice', ['--roles=auto-db-users']);
  expectOk(await alice.tsh(['db', 'login', '--db-name=postgres', 'example']));
}, 120_000);

afterAll(async () => {
  await provisioning?.stop();
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

it('leaves provisioning to another process: without one, a session that needs it says so', async () => {
  expect(service.logs()).not.toContain('provisioning database users of');
  const refused = await connectFailure(alice.config('example'));
  expect(refused.severity).toBe('FATAL');
  expect(refused.message).toContain('the provisioning service is not running (no responders on provisioning.example.activate)');
});

it('teleport start --roles=provisioning joins with a provisioning token and provisions the users of every session', async () => {
  const dir = mkdtempSync(join(cluster.dir, 'provisioning-host-'));
  const config = join(dir, 'teleport.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      teleport: { data_dir: join(dir, 'data') },
      auth_service: { enabled: 'no' },
      proxy_service: { enabled: 'no' },
      db_service: {
        enabled: 'no',
        databases: [{ name: 'example', protocol: 'postgres', uri: `localhost:${postgres.port}`, admin_user: { name: 'teleport-admin' } }],
      },
    }),
  );
  const token = expectOk(await cluster.tctl(['tokens', 'add', '--type=provisioning', '--format=text'])).trim();
  const child = spawn(
    process.execPath,
    [BIN.teleport, 'start', '--roles=provisioning', '-c', config, `--token=${token}`, `--auth-server=${cluster.proxyAddr}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  provisioning = { logs: () => log, stop: () => stopChild(child, 10_000) };
  await eventually(async () => expect(log).toContain('the provisioning service is up'), 60_000);
  expect(log).toContain('provisioning database users of example');

  const session = new pg.Client(alice.config('example'));
  session.on('error', () => undefined);
  await session.connect();
  expect((await session.query('select current_user as who')).rows).toEqual([{ who: 'alice' }]);
  expect(await dbUser(postgres, 'alice')).toEqual({ login: true, roles: ['reader', 'teleport-auto-user'] });
  await session.end();
  await eventually(async () => expect(await dbUser(postgres, 'alice')).toEqual({ login: false, roles: ['teleport-auto-user'] }));
  const codes = (await provisioningEvents(cluster, 'alice')).map((e) => e.code);
  expect(codes).toEqual(['TDB08I', 'TDB09I']);
});

it("gives a Database Service's own credentials no certificate for the admin user, or any user, outside its sessions", async () => {
  const credentials = dbServiceCredentials(service.dataDir);
  const nc = await connectNats({ servers: [cluster.nats.url], credentials }, 'stolen');
  try {
    const rpc = new RpcClient(nc, credentials.identity);
    const { publicKeyPem } = await generateKeyPair();
    const ask = (extra: object) =>
      rpc.call(Rpc.Auth.SignDbClient, { db_user: 'teleport-admin', public_key: publicKeyPem, ttl_ms: 60_000, ...extra });
    await expect(ask({})).rejects.toThrow(
      'a Database Service gets database certificates for its own sessions only: the request names no session',
    );
    await expect(ask({ sid: '00000000-0000-4000-8000-000000000002' })).rejects.toThrow(
      'session 00000000-0000-4000-8000-000000000002 is not one of this Database Service\'s sessions as database user "teleport-admin"',
    );
  } finally {
    await nc.close();
  }
});
