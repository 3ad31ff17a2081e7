// proxy_service.https_keypairs: the proxy shows browsers and tsh a certificate from a CA the machine
// trusts (here the test's own, given as SSL_CERT_FILE as an organisation would install it), so
// `tsh login --proxy=...` needs no --insecure, as in the guides. Cluster processes (a Database
// Service's tunnels and bus connection) and Postgres clients still get, and verify, the host certificate.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import { startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';
import { expectOk } from '../support/elsewhere.js';
import { makeWebPki } from '../support/web-pki.js';

let cluster: TestCluster;
let postgres: PostgresCluster;
let dbService: DbServiceProcess;
let pki: string;
let home: string;

/** The issuer of the certificate the proxy shows a client that asks for `servername`. */
function issuerFor(servername: string): Promise<string> {
  const [host, port] = cluster.proxyAddr.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port), servername, rejectUnauthorized: false }, () => {
      resolve(String(socket.getPeerCertificate().issuer.CN));
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  pki = mkdtempSync('/tmp/dbaccess-https-keypairs-');
  await makeWebPki(pki, ['localhost', '127.0.0.1']);
  cluster = await TestCluster.start({
    clusterName: 'keypairs',
    proxyConfig: `  https_keypairs:\n  - key_file: ${pki}/proxy.key\n    cert_file: ${pki}/proxy.crt\n`,
  });
  home = mkdtempSync(join(cluster.dir, 'home-'));
  postgres = await startClusterPostgres(cluster);
  dbService = await startDbService(cluster, { name: 'pg', uri: `localhost:${postgres.port}` });
  await cluster.createUser('alice', 'alice-keypairs-password', ['--roles=access', '--db-users=*', '--db-names=*']);
});
afterAll(async () => {
  await dbService?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

it('shows the https_keypairs certificate to whoever asks for its name, the host certificate to cluster processes', async () => {
  expect(await issuerFor('localhost')).toBe('Organisation Root CA');
  expect(await issuerFor('teleport.cluster.local')).toMatch(/keypairs/);
});

it('tsh login without --insecure trusts it through the system roots (SSL_CERT_FILE), and refuses it without', async () => {
  const refused = await cluster.tsh(['login', `--proxy=${cluster.proxyAddr}`, '--user=alice'], {
    input: 'alice-keypairs-password\n',
    env: { HOME: home, SSL_CERT_FILE: '/dev/null' },
  });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/certificate/);
  const out = expectOk(
    await cluster.tsh(['login', `--proxy=${cluster.proxyAddr}`, '--user=alice'], {
      input: 'alice-keypairs-password\n',
      env: { HOME: home, SSL_CERT_FILE: join(pki, 'ca.crt') },
    }),
  );
  expect(out).toMatch(/Logged in as: +alice/);
});

it('a Database Service joined behind it serves, and tsh db connect reaches PostgreSQL through it', async () => {
  expect(dbService.logs()).toContain('the Database Service is up');
  const out = expectOk(
    await cluster.tsh(['db', 'connect', '--db-user=postgres', '--db-name=postgres', 'pg'], {
      input: "select 'through keypairs' as how;\n",
      env: { HOME: home, SSL_CERT_FILE: join(pki, 'ca.crt'), PSQLRC: '/dev/null' },
    }),
  );
  expect(out).toContain('through keypairs');
});
