// `tsh bench postgres` as a user runs it against their own cluster: new sessions through the proxy at a
// steady rate with their database certificate, and Teleport's histogram of response durations.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresCluster } from '#libs/testing';
import { run, TestCluster, type RunResult } from '../support/cluster.js';
import { loginUser, startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';
import { expectCliError } from '../support/elsewhere.js';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;
let serviceFile: string;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'bench' });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
  // One db user and one db name allowed: `tsh bench postgres example` needs no --db-user / --db-name.
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=postgres']);
  serviceFile = join(cluster.dir, 'pg_service.conf');
});
afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

const bench = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
  cluster.tsh(['bench', ...args], { env: { PGSERVICEFILE: serviceFile, ...env } });

const HISTOGRAM = /\nHistogram\n\nPercentile Response Duration\n---------- -----------------\n((?:\d+ +\d+ ms\n){7})\n$/;

function percentiles(stdout: string): Record<string, number> {
  const rows = HISTOGRAM.exec(stdout)![1]!.trim().split('\n');
  return Object.fromEntries(rows.map((r) => r.split(/ +/)).map(([p, ms]) => [p!, Number(ms)]));
}

it("opens rate x duration sessions through the proxy and prints Teleport's histogram", async () => {
  const started = Date.now();
  const r = await bench(['postgres', '--rate=20', '--duration=2s', 'example']);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
  expect(r.stdout).toMatch(/^\n\* Requests originated: 40\n\* Requests failed: 0\n\nHistogram\n/);
  expect(r.stdout).toMatch(HISTOGRAM);
  const p = percentiles(r.stdout);
  expect(Object.keys(p)).toEqual(['25', '50', '75', '90', '95', '99', '100']);
  const values = Object.values(p);
  expect(values).toEqual([...values].sort((a, b) => a - b));
  expect(p['100']).toBeLessThan(60_000);
});

it('takes the flags after the database too, and logs in to the database first when needed', async () => {
  const home = mkdtempSync(join(cluster.dir, 'home-'));
  await loginUserAt(home);
  const r = await bench(['postgres', 'example', '--db-user=alice', '--db-name=postgres', '--rate=10', '--duration=500ms'], {
    TELEPORT_HOME: home,
    PGSERVICEFILE: join(home, 'pg_service.conf'),
  });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(r.stdout).toMatch(/^\n\* Requests originated: 5\n\* Requests failed: 0\n/);
});

it('counts refused sessions as failed, names the last error, and fails when none succeeded', async () => {
  const r = await bench(['postgres', '--db-name=other', '--rate=5', '--duration=1s', 'example']);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(
    /^\n\* Requests originated: 5\n\* Requests failed: 5\n\* Last error: FATAL: access to db denied\. .*\(SQLSTATE 28000\)\n\nHistogram\n/,
  );
  expect(r.stderr).toMatch(
    /^ERROR: every request failed: FATAL: access to db denied\. User does not have permissions\. Confirm database user and name\. \(SQLSTATE 28000\)\n$/,
  );
});

describe('clear errors', () => {
  it('for a database that does not exist', async () => {
    expectCliError(await bench(['postgres', '--rate=5', 'nosuch']), 'database "nosuch" not found');
  });

  it('when not logged in', async () => {
    const home = mkdtempSync(join(cluster.dir, 'empty-'));
    expectCliError(
      await bench(['postgres', 'example'], { TELEPORT_HOME: home }),
      "not logged in: run 'tsh login --proxy=HOST:PORT --user=NAME'",
    );
  });

  it.each([
    [['--rate=0'], 'invalid --rate "0": use a whole number of requests per second, like 10'],
    [['--rate=fast'], 'invalid --rate "fast": use a whole number of requests per second, like 10'],
    [['--duration=10'], 'invalid duration "10": use a number with a unit (ms, s, m, h), like 30m, 12h or 1h30m'],
    [['--duration=0s'], 'invalid --duration "0s": use a duration above zero, like 1s or 30s'],
  ])('for %j', async (flags, message) => {
    expectCliError(await bench(['postgres', ...flags, 'example']), message);
  });

  it('for an unknown flag or a missing database', async () => {
    const unknown = await bench(['postgres', '--threads=4', 'example']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown option '--threads=4'/);
    const missing = await bench(['postgres']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/missing required argument 'db'/);
  });
});

async function loginUserAt(home: string): Promise<void> {
  const login = await run('tsh', ['login', '--insecure', `--proxy=${cluster.proxyAddr}`, '--user=alice'], {
    input: 'alice-password-123\n',
    env: { TELEPORT_HOME: home },
  });
  if (login.code !== 0) throw new Error(login.stderr);
}
