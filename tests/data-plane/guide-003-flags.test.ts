// Guide 003, "Start Database Service with CLI Flags", as written: the auth service's teleport.yaml has a
// static token (auth_service.tokens: proxy,node,database:cbdeeab9-...), and the Database Service starts
// from flags alone, `teleport start --debug --roles=db --token=... --auth-server=<proxy> --db-name=test
// --db-protocol=postgres --db-uri=... --labels=env=test`. Then the guide's alternative: a dynamic token
// from `tctl tokens add --type=db --db-name=... --db-protocol=postgres --db-uri=...`, whose printed
// command serves that database; and "Start Database Service with Config File": teleport-db.yaml with
// auth_token and auth_servers, `teleport start --debug --config=...`. Not in the guide: where each
// process keeps its state (a data dir of the test's instead of /var/lib/teleport), and the PostgreSQL it
// reaches (this test's).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { PostgresCluster } from '#libs/testing';
import { BIN, stopChild, TestCluster } from '../support/cluster.js';
import { loginUser, proxyConnection, startClusterPostgres, type RunningProcess } from '../support/data-plane.js';
import { expectCliError, expectOk } from '../support/elsewhere.js';

const CLUSTER = 'test';
const STATIC_TOKEN = 'cbdeeab9-6f88-436d-a673-44d14bd86bb7';

let cluster: TestCluster;
let postgres: PostgresCluster;
const services: RunningProcess[] = [];

/**
 * Runs teleport with `args` and --config: a file of `configText` (given the host's data dir), or one
 * that only sets the data dir. Resolves once it says its Database Service is up.
 */
async function teleport(args: string[], configText?: (dataDir: string) => string): Promise<RunningProcess> {
  const dir = mkdtempSync(join(cluster.dir, 'db-host-'));
  const config = join(dir, 'teleport.yaml');
  writeFileSync(config, configText ? configText(join(dir, 'data')) : `teleport:\n  data_dir: ${join(dir, 'data')}\n`);
  const child = spawn(process.execPath, [BIN.teleport, ...args, `--config=${config}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!log.includes('the Database Service is up')) {
    if (child.exitCode !== null) throw new Error(`teleport ${args.join(' ')} exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`teleport ${args.join(' ')} did not come up:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const running = { process: child, logs: () => log, stop: (signal: NodeJS.Signals = 'SIGTERM') => stopChild(child, 10_000, signal) };
  services.push(running);
  return running;
}

/** `select current_user` through the proxy, after `tsh db login` to `db`. */
async function sessionUser(db: string): Promise<string> {
  const serviceFile = join(cluster.dir, `${db}_service.conf`);
  expectOk(await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', db], { env: { PGSERVICEFILE: serviceFile } }));
  const client = new pg.Client(proxyConnection(serviceFile, `${CLUSTER}-${db}`));
  await client.connect();
  try {
    return (await client.query('select current_user as u')).rows[0].u as string;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER, staticTokens: [`proxy,node,database:${STATIC_TOKEN}`] });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
}, 120_000);

afterAll(async () => {
  for (const s of services) await s.stop();
  await postgres?.stop();
  await cluster?.stop();
});

it('a Database Service started from flags with the static token joins and serves its database', async () => {
  await teleport([
    'start',
    '--debug',
    '--roles=db',
    `--token=${STATIC_TOKEN}`,
    `--auth-server=${cluster.proxyAddr}`,
    '--db-name=test',
    '--db-protocol=postgres',
    `--db-uri=localhost:${postgres.port}`,
    '--labels=env=test',
  ]);
  const listed = JSON.parse(expectOk(await cluster.tsh(['db', 'ls', '--format=json']))) as {
    name: string;
    labels: Record<string, string>;
  }[];
  expect(listed.find((d) => d.name === 'test')).toMatchObject({ labels: { env: 'test' } });
  expect(await sessionUser('test')).toBe('alice');
});

it("a Database Service started from the guide's teleport-db.yaml (auth_token, auth_servers) joins and serves", async () => {
  // The guide's file, but for its data_dir, the proxy's address and the database (this test's
  // PostgreSQL rather than Aurora: the aws: block and IAM are guide-003.test.ts's, with the AWS stand-ins).
  await teleport(
    ['start', '--debug'],
    (dataDir) => `teleport:
  data_dir: ${dataDir}
  nodename: test
  # Auth token to connect to the auth server.
  auth_token: ${STATIC_TOKEN}
  # Proxy address to connect to. Note that it has to be the proxy address
  # because database service always connects to the cluster over reverse
  # tunnel.
  auth_servers:
  - ${cluster.proxyAddr}
db_service:
  enabled: "yes"
  # This section contains definitions of all databases proxied by this
  # service, can contain multiple items.
  databases:
    # Name of the database proxy instance, used to reference in CLI.
  - name: "aurora"
    # Free-form description of the database proxy instance.
    description: "AWS Aurora instance of PostgreSQL 13.0"
    # Database protocol.
    protocol: "postgres"
    # Database address, example of a AWS Aurora endpoint in this case.
    uri: "localhost:${postgres.port}"
    # Labels to assign to the database, used in RBAC.
    labels:
      env: dev
auth_service:
  enabled: "no"
ssh_service:
  enabled: "no"
proxy_service:
  enabled: "no"
`,
  );
  const listed = JSON.parse(expectOk(await cluster.tsh(['db', 'ls', '--format=json']))) as {
    name: string;
    description: string;
    labels: Record<string, string>;
  }[];
  expect(listed.find((d) => d.name === 'aurora')).toMatchObject({
    description: 'AWS Aurora instance of PostgreSQL 13.0',
    labels: { env: 'dev' },
  });
  expect(await sessionUser('aurora')).toBe('alice');
});

it('lists the static token as never expiring, and will not delete it (it lives in teleport.yaml)', async () => {
  const tokens = JSON.parse(expectOk(await cluster.tctl(['tokens', 'ls', '--format=json']))) as {
    token: string;
    roles: string[];
    expires: string;
  }[];
  expect(tokens).toContainEqual({ token: STATIC_TOKEN, roles: ['Proxy', 'Db'], expires: 'never' });
  expectCliError(
    await cluster.tctl(['tokens', 'rm', STATIC_TOKEN]),
    "this is a static token of the auth service's teleport.yaml (auth_service.tokens): remove it there and restart",
  );
});

it('tctl tokens add --type=db --db-name --db-protocol --db-uri prints the command that serves that database', async () => {
  const out = expectOk(
    await cluster.tctl(['tokens', 'add', '--type=db', '--db-name=second', '--db-protocol=postgres', `--db-uri=localhost:${postgres.port}`]),
  );
  // The command as printed: from '> teleport db start' to the blank line, its lines continued with backslashes.
  expect(out).toContain('> teleport db start');
  const printed = out.slice(out.indexOf('> teleport db start') + 2).split('\n\n')[0]!;
  const args = printed.replace(/\\\n/g, ' ').trim().split(/\s+/).slice(1);
  expect(args).toEqual([
    'db',
    'start',
    expect.stringMatching(/^--token=[0-9a-f]+$/),
    `--proxy=${cluster.proxyAddr}`,
    '--name=second',
    '--protocol=postgres',
    `--uri=localhost:${postgres.port}`,
  ]);
  await teleport(args);
  expect(await sessionUser('second')).toBe('alice');
});

it('refuses a token that is neither static nor issued', async () => {
  const dir = mkdtempSync(join(cluster.dir, 'db-host-'));
  writeFileSync(join(dir, 'teleport.yaml'), `teleport:\n  data_dir: ${join(dir, 'data')}\n`);
  const child = spawn(
    process.execPath,
    [
      BIN.teleport,
      'start',
      '--roles=db',
      '--token=not-a-token',
      `--auth-server=${cluster.proxyAddr}`,
      '--db-name=x',
      '--db-protocol=postgres',
      '--db-uri=localhost:1',
      `--config=${join(dir, 'teleport.yaml')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  expect(code).not.toBe(0);
  expect(log).toContain('the join token is invalid, expired or was removed');
});
