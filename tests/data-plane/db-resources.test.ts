// `kind: db` resources served by a Database Service whose db_service.resources select their labels (as
// `teleport db configure create --dynamic-resources-labels` writes it): created with tctl create, the
// database is served within seconds; one with other labels is not; deleted, it stops being served and
// its live sessions end. Guide 004's kind: db with an admin_user is served so too, its users provisioned.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { PostgresCluster } from '#libs/testing';
import { BIN, stopChild, TestCluster } from '../support/cluster.js';
import { loginUser, proxyConnection, startClusterPostgres } from '../support/data-plane.js';
import { expectCliError, expectOk } from '../support/elsewhere.js';
import { dbUser, eventually, person } from '../support/provisioning.js';

const CLUSTER = 'resources';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: { stop(): Promise<void>; logs(): string };

const resource = (name: string, labels: Record<string, string>) =>
  `kind: db\nversion: v3\nmetadata:\n  name: ${name}\n  labels: ${JSON.stringify(labels)}\nspec:\n  protocol: postgres\n  uri: localhost:${postgres.port}\n`;

/** Connects through the proxy to `db` as alice (after tsh db login). */
async function connect(db: string): Promise<pg.Client> {
  const serviceFile = join(cluster.dir, `${db}_service.conf`);
  expectOk(await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', db], { env: { PGSERVICEFILE: serviceFile } }));
  const client = new pg.Client(proxyConnection(serviceFile, `${CLUSTER}-${db}`));
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);

  // The Database Service's config as teleport db configure create writes it, with no database of its own.
  const dir = mkdtempSync(join(cluster.dir, 'db-host-'));
  const config = join(dir, 'teleport.yaml');
  const token = expectOk(await cluster.tctl(['tokens', 'add', '--type=db', '--format=text'])).trim();
  const made = await run([
    'db',
    'configure',
    'create',
    `--proxy=${cluster.proxyAddr}`,
    `--token=${token}`,
    '--dynamic-resources-labels=env=test',
    `--data-dir=${join(dir, 'data')}`,
    `--output=file://${config}`,
  ]);
  expect(made).toMatchObject({ code: 0 });
  const child = spawn(process.execPath, [BIN.teleport, 'start', `--config=${config}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  service = { stop: () => stopChild(child, 10_000), logs: () => log };
  await eventually(async () => expect(log).toContain('the Database Service is up'), 60_000);
  expect(log).toContain('serving the db resources labeled env=test');
}, 180_000);

afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN.teleport, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

it('serves a db resource its selector matches, within seconds of tctl create', async () => {
  expectOk(await cluster.tctl(['create'], { input: resource('example', { env: 'test' }) }));
  const client = await eventually(() => connect('example'), 20_000);
  try {
    expect((await client.query('select current_user as u')).rows).toEqual([{ u: 'alice' }]);
  } finally {
    await client.end();
  }
});

it('does not serve a db resource with other labels', async () => {
  expectOk(await cluster.tctl(['create'], { input: resource('other', { env: 'prod' }) }));
  // Given time to be picked up, were it selected.
  await new Promise((r) => setTimeout(r, 7_000));
  const serviceFile = join(cluster.dir, 'other_service.conf');
  expectOk(await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', 'other'], { env: { PGSERVICEFILE: serviceFile } }));
  await expect(new pg.Client(proxyConnection(serviceFile, `${CLUSTER}-other`)).connect()).rejects.toThrow(
    'database "other" is not served by any running Database Service',
  );
});

it('stops serving a deleted db resource and ends its live sessions', async () => {
  const client = await connect('example');
  const ended = new Promise<Error>((resolve) => client.once('error', resolve));
  expectOk(await cluster.tctl(['rm', 'db/example']));
  expect((await ended).message).toBe('database "example" is no longer served: its db resource was deleted or no longer matches');
  expectCliError(await cluster.tsh(['db', 'login', '--db-user=alice', 'example']), 'database "example" not found');
  // The log is JSON lines: the quotes of the message are escaped there.
  expect(service.logs()).toContain('no longer serving db resource \\"example\\"');
});

it("serves guide 004's kind: db with an admin_user: database users provisioned for the session", async () => {
  // Guide 004, step 1 (the admin and what it needs) and step 2 (the role), as the guide writes them.
  await postgres.psql(
    'CREATE USER "teleport-admin" login createrole;\nGRANT CREATE ON SCHEMA public TO "teleport-admin";\nCREATE ROLE reader;',
  );
  expectOk(
    await cluster.tctl(['create'], {
      input: `kind: role
version: v7
metadata:
  name: auto-db-users
spec:
  options:
    # create_db_user_mode enables automatic user provisioning for matching databases
    create_db_user_mode: keep
  allow:
    db_labels:
      "*": "*"
    db_names:
    - "*"
    # db_roles is a list of roles the database user will be assigned
    db_roles:
    - reader
    - "{{internal.db_roles}}"
    - "{{external.db_roles}}"
`,
    }),
  );
  expectOk(
    await cluster.tctl(['create'], {
      input: `kind: db
version: v3
metadata:
  name: example-auto
  labels:
    env: test
spec:
  protocol: "postgres"
  uri: "localhost:${postgres.port}"
  admin_user:
    name: "teleport-admin"
`,
    }),
  );
  const bob = await person(cluster, 'bob', ['--roles=auto-db-users']);
  // Step 3: no --db-user: the database user is the Teleport username.
  await eventually(async () => expectOk(await bob.tsh(['db', 'login', '--db-name=postgres', 'example-auto'])), 20_000);
  // Listed at once; served once the Database Service has picked it up (within seconds).
  const client = await eventually(async () => {
    const c = new pg.Client(bob.config('example-auto'));
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }, 20_000);
  try {
    expect((await client.query('select current_user as u')).rows).toEqual([{ u: 'bob' }]);
    expect(await dbUser(postgres, 'bob')).toEqual({ login: true, roles: ['reader', 'teleport-auto-user'] });
  } finally {
    await client.end();
  }
  // keep: after the session the user stays, without login and without roles.
  await eventually(async () => expect(await dbUser(postgres, 'bob')).toEqual({ login: false, roles: ['teleport-auto-user'] }), 20_000);
});
