import { join } from 'node:path';
import pg from 'pg';
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import { loginUser, proxyConnection, startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'smoke' });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}`, labels: 'env=dev' });
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
});
afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

it('runs a query through the proxy as the database user of the certificate', async () => {
  const serviceFile = join(cluster.dir, 'pg_service.conf');
  const login = await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', 'example'], {
    env: { PGSERVICEFILE: serviceFile },
  });
  expect(login.code).toBe(0);
  const client = new pg.Client(proxyConnection(serviceFile, 'smoke-example'));
  await client.connect();
  const { rows } = await client.query('select current_user as who, 40 + 2 as answer');
  await client.end();
  expect(rows).toEqual([{ who: 'alice', answer: 42 }]);
});
