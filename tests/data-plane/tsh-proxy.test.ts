import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { PostgresCluster } from '#libs/testing';
import { BIN, stopChild, TestCluster } from '../support/cluster.js';
import { loginUser, startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'tunnel' });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
});
afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return () => out;
}

async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleeping = async () =>
  Number((await postgres.psql("select count(*) from pg_stat_activity where state = 'active' and query like 'select pg_sleep%'")).trim()) >
  0;

describe('tsh proxy db --tunnel', () => {
  let tunnel: ChildProcess;
  let output: () => string;
  let url: string;

  beforeAll(async () => {
    tunnel = spawn(process.execPath, [BIN.tsh, 'proxy', 'db', '--tunnel', '--db-user=alice', '--db-name=postgres', 'example'], {
      env: { ...process.env, TELEPORT_HOME: cluster.tshHome, PGSERVICEFILE: join(cluster.dir, 'pg_service.conf') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    output = collect(tunnel);
    await waitFor(() => /psql "(postgres:\/\/[^"]+)"/.test(output()), 'the tunnel');
    url = /psql "(postgres:\/\/[^"]+)"/.exec(output())![1]!;
  });
  afterAll(() => stopChild(tunnel, 5000, 'SIGINT'));

  it('prints what to connect to, and a client without certificates gets a session', async () => {
    expect(output()).toMatch(
      /^Started authenticated tunnel for the PostgreSQL database "example" in cluster "tunnel" on 127\.0\.0\.1:\d+\.\n/,
    );
    expect(url).toMatch(/^postgres:\/\/alice@localhost:\d+\/postgres$/);
    const psql = spawn('psql', [url, '-X', '-A', '-t', '-c', 'select current_user'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = collect(psql);
    expect(await new Promise((r) => psql.once('exit', r))).toBe(0);
    expect(out()).toBe('alice\n');
  });

  it('cancels a query when psql through the tunnel gets Ctrl-C', async () => {
    const psql = spawn('psql', [url, '-X', '-c', 'select pg_sleep(60)'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = collect(psql);
    await waitFor(sleeping, 'the query');
    const sent = Date.now();
    psql.kill('SIGINT');
    await new Promise((r) => psql.once('exit', r));
    expect(Date.now() - sent).toBeLessThan(2000);
    expect(out()).toContain('canceling statement due to user request');
  });

  it('prints nothing but its own lines (no runtime warnings)', () => {
    expect(output()).not.toMatch(/Warning|DEP0\d+/);
  });
});

it("tsh db connect: Ctrl-C in the terminal cancels the query and tsh returns psql's exit code", async () => {
  // A terminal's Ctrl-C signals the whole foreground process group: tsh and the psql it runs.
  const tsh = spawn(process.execPath, [BIN.tsh, 'db', 'connect', '--db-user=alice', '--db-name=postgres', 'example'], {
    env: { ...process.env, TELEPORT_HOME: cluster.tshHome, PGSERVICEFILE: join(cluster.dir, 'pg_service.conf') },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const out = collect(tsh);
  tsh.stdin!.write('select pg_sleep(60);\n');
  await waitFor(sleeping, 'the query');
  const sent = Date.now();
  process.kill(-tsh.pid!, 'SIGINT');
  await waitFor(() => out().includes('canceling statement due to user request'), 'the cancel', 5000);
  expect(Date.now() - sent).toBeLessThan(2000);
  // psql reading a script stops at Ctrl-C with EXIT_USER (3); tsh hands that on.
  await waitFor(() => tsh.exitCode !== null, `tsh to exit; it printed:\n${out()}`, 10_000);
  expect(tsh.exitCode).toBe(3);
});
