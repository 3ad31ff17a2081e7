// What lands in a bucket or stream a service reads may be anything: a malformed entry is logged (by
// key or subject, never its content) and passed over, and every service goes on. Put into
// DB_SERVERS, CLUSTER and AUDIT straight through NATS, past the services.
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { PostgresCluster } from '#libs/testing';
import { BIN, TestCluster, type RunResult } from '../support/cluster.js';
import { busClient } from '../support/bus.js';
import { readStream } from '../support/cluster-stream.js';
import { loginUser, proxyConnection, startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';

/** In every malformed value: it must never show up in a log. */
const MARKER = 'payload-marker-5d1e';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;
let serviceFile: string;
let nc: NatsConnection;
let js: JetStreamClient;
let servers: KV;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'junk' });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
  serviceFile = join(cluster.dir, 'pg_service.conf');
  expectOk(await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', 'example'], { env: { PGSERVICEFILE: serviceFile } }));
  ({ nc } = await busClient(cluster));
  js = jetstream(nc);
  servers = await new Kvm(nc).open('DB_SERVERS');
});
afterAll(async () => {
  await nc?.close();
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

function expectOk(result: RunResult): string {
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
  return result.stdout;
}

async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The cluster's log has a warning containing `text`; no log line holds the malformed content. */
async function warned(text: string): Promise<void> {
  await eventually(`a warning "${text}"`, async () => (cluster.logs().includes(text) ? true : undefined), 10_000);
  const line = cluster
    .logs()
    .split('\n')
    .find((l) => l.includes(text))!;
  expect(line).toContain('"level":"warn"');
  expect(cluster.logs()).not.toContain(MARKER);
}

async function listedDbs(): Promise<string[]> {
  return (JSON.parse(expectOk(await cluster.tsh(['db', 'ls', '--format=json']))) as Array<{ name: string }>).map((d) => d.name);
}

/** The session whose db.session.start carries `application_name`, from the AUDIT stream (skipping what is not JSON). */
async function sessionOf(applicationName: string): Promise<string> {
  return eventually(`a session of ${applicationName}`, async () => {
    for (const m of await readStream(cluster, 'AUDIT')) {
      try {
        const event = JSON.parse(m.body) as Record<string, unknown>;
        if (event.event === 'db.session.start' && event.user_agent === applicationName) return event.sid as string;
      } catch {
        // what this test put there
      }
    }
    return undefined;
  });
}

it('DB_SERVERS: skips a value that is not JSON and one of the wrong shape; the watcher goes on', async () => {
  await servers.put('junk.host-a', `not json!! ${MARKER}`);
  await servers.put('shape.host-b', JSON.stringify({ host_id: 42, note: MARKER }));
  await servers.put(
    'example.host-c',
    JSON.stringify({ host_id: 'host-c', addr: '127.0.0.1:1', resource: { kind: 'db', note: MARKER }, expires: '2100-01-01T00:00:00Z' }),
  );
  // A later valid registration still reaches inventory's view.
  const expires = new Date(Date.now() + 60_000).toISOString();
  const resource = {
    kind: 'db',
    version: 'v3',
    metadata: { name: 'later', labels: {} },
    spec: { protocol: 'postgres', uri: 'localhost:1' },
  };
  await servers.put('later.host-d', JSON.stringify({ host_id: 'host-d', addr: '127.0.0.1:1', resource, expires }));

  const names = await eventually('tsh db ls listing "later"', async () => {
    const listed = await listedDbs();
    return listed.includes('later') ? listed : undefined;
  });
  expect(names).toEqual(['example', 'later']);
  await warned('skipped DB_SERVERS entry junk.host-a (revision ');
  await warned('skipped DB_SERVERS entry shape.host-b (revision ');
  await warned('skipped DB_SERVERS entry example.host-c (revision ');
  await servers.delete('later.host-d');
  await eventually('"later" leaving tsh db ls', async () => ((await listedDbs()).includes('later') ? undefined : true));
});

it('CLUSTER: skips messages that are not commits; users and roles are still created and listed', async () => {
  const junk = await js.publish('cluster.role.junk', `not json!! ${MARKER}`);
  const shape = await js.publish('cluster.role.shape', JSON.stringify({ type: 'role.upserted', note: MARKER }));
  await js.publish('cluster.user.carol', JSON.stringify([{ type: 'user.created', data: null, time: MARKER }]));

  expectOk(await cluster.tctl(['users', 'add', 'bob', '--roles=access']));
  expect(expectOk(await cluster.tctl(['users', 'ls']))).toMatch(/^bob\b/m);
  // The role "junk" is loaded around the message that is not a commit.
  const role = 'kind: role\nversion: v7\nmetadata:\n  name: junk\nspec:\n  allow:\n    db_labels: {env: dev}\n';
  expectOk(await cluster.tctl(['create'], { input: role }));
  expect(expectOk(await cluster.tctl(['get', 'role/junk']))).toContain('name: junk');
  await warned(`skipped message ${junk.seq} on cluster.role.junk: not a commit (`);
  await warned(`skipped message ${shape.seq} on cluster.role.shape: not a commit (`);
  await warned('on cluster.user.carol: not a commit (0.data: ');
});

it('AUDIT: the audit service skips what is not an event and indexes later sessions', async () => {
  const stray = `audit.${randomUUID()}.db.session.query`;
  const junk = await js.publish(stray, `not json!! ${MARKER}`);
  await js.publish(`audit.${randomUUID()}.db.session.query`, 'null');

  const client = new pg.Client(proxyConnection(serviceFile, 'junk-example', { application_name: 'after-junk' }));
  await client.connect();
  await client.query("SELECT 'after the junk'");
  await client.end();
  const sid = await sessionOf('after-junk');
  const played = await eventually(`tsh play ${sid}`, async () => {
    const result = await cluster.tsh(['play', '--format=json', sid]);
    if (result.code !== 0) return undefined;
    const events = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    return events.some((e) => e.event === 'db.session.end') ? events : undefined;
  });
  expect(played.filter((e) => e.event === 'db.session.query').map((e) => e.db_query)).toEqual(["SELECT 'after the junk'"]);
  await warned(`that are not audit events: ${junk.seq} on ${stray}`);
});

it('AUDIT: tsh play --follow passes over what is not an event of the session it follows', async () => {
  const client = new pg.Client(proxyConnection(serviceFile, 'junk-example', { application_name: 'followed' }));
  await client.connect();
  await client.query("SELECT 'first statement'");
  const sid = await sessionOf('followed');
  const follower = spawn(process.execPath, [BIN.tsh, 'play', '--follow', '--format=text', sid], {
    env: { ...process.env, TELEPORT_HOME: cluster.tshHome },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  follower.stdout.on('data', (d: Buffer) => (output += d.toString()));
  follower.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number>((resolve) => follower.on('exit', (code) => resolve(code ?? -1)));
  try {
    await eventually('the first statement followed', async () => (output.includes("SELECT 'first statement'") ? true : undefined), 15_000);
    const junk = await js.publish(`audit.${sid}.db.session.query`, `not json!! ${MARKER}`);
    await client.query("SELECT 'after the junk'");
    await eventually(
      'the statement after the junk followed',
      async () => (output.includes("SELECT 'after the junk'") ? true : undefined),
      15_000,
    );
    await client.end();
    expect(await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-99), 15_000))])).toBe(0);
    expect(output).toMatch(/\nSession ended at .* UTC\n$/);
    await warned(`following a session: skipped message ${junk.seq} on audit.${sid}.db.session.query`);
  } finally {
    follower.kill();
  }
});
