import { join } from 'node:path';
import pg from 'pg';
import type { PostgresCluster } from '#libs/testing';
import { run, TestCluster } from '../support/cluster.js';
import { proxyConnection, startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'expiry' });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
  const added = await cluster.tctl(['users', 'add', 'alice', '--roles=access', '--db-users=alice', '--db-names=*']);
  expect(added.code).toBe(0);
});
afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

it('tells the client its certificate expired before closing the session', async () => {
  const identity = join(cluster.dir, 'alice.pem');
  expect((await cluster.tctl(['auth', 'sign', '--user=alice', '--format=file', `--out=${identity}`, '--ttl=8s'])).code).toBe(0);
  const serviceFile = join(cluster.dir, 'expiry.conf');
  const env = { TELEPORT_HOME: join(cluster.dir, 'tsh-i'), PGSERVICEFILE: serviceFile };
  const login = await run(
    'tsh',
    ['-i', identity, `--proxy=${cluster.proxyAddr}`, 'db', 'login', '--db-user=alice', '--db-name=postgres', 'example'],
    { env },
  );
  expect(login.stderr).toBe('');

  const client = new pg.Client(proxyConnection(serviceFile, 'expiry-example'));
  const errors: Array<Error & { code?: string; severity?: string }> = [];
  client.on('error', (err) => errors.push(err));
  await client.connect();
  await expect(client.query('select 1 as ok')).resolves.toMatchObject({ rows: [{ ok: 1 }] });
  const deadline = Date.now() + 15_000;
  while (!errors.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // The ErrorResponse comes first; node-postgres then also reports the closed connection.
  expect(errors[0]).toMatchObject({
    code: '57P01',
    severity: 'FATAL',
    message: "your certificate has expired: run 'tsh login' and connect again",
  });

  // Afterwards the same files cannot open a session at all.
  const again = new pg.Client(proxyConnection(serviceFile, 'expiry-example'));
  await expect(again.connect()).rejects.toThrow(/certificate/);
});
