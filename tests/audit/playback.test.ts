// The audit service and tsh play / tsh recordings ls against real processes: a psql session of 50
// mixed statements plays back as exactly its events (json) and as a readable transcript (text);
// prepared statements show their parameters; a live session can be followed; users see only their
// own sessions unless a role lets them read all; roles may record result rows.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import pg from 'pg';
import { loadCurrentProfile } from '#libs/client';
import type { PostgresCluster } from '#libs/testing';
import { BIN, run, TestCluster, type RunResult } from '../support/cluster.js';
import { proxyConnection, startClusterPostgres, startDbService, tempDir, type DbServiceProcess } from '../support/data-plane.js';
import { readAudit, waitForSession } from '../support/audit-log.js';
import { psql } from '../support/psql.js';

const CLUSTER = 'play-cluster';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;

interface Person {
  name: string;
  /** TELEPORT_HOME and HOME of this person's tsh. */
  home: string;
  serviceFile: string;
}
const people: Record<string, Person> = {};

function tsh(who: Person, args: string[]): Promise<RunResult> {
  return run('tsh', args, { env: { TELEPORT_HOME: who.home, HOME: who.home, PGSERVICEFILE: who.serviceFile } });
}

async function person(name: string, flags: string[]): Promise<Person> {
  const home = tempDir(cluster, `${name}-`);
  mkdirSync(home, { recursive: true });
  const who = { name, home, serviceFile: join(home, 'pg_service.conf') };
  await cluster.createUser(name, `${name}-password-123`, flags);
  const login = await run('tsh', ['login', '--insecure', `--proxy=${cluster.proxyAddr}`, `--user=${name}`], {
    input: `${name}-password-123\n`,
    env: { TELEPORT_HOME: home },
  });
  if (login.code !== 0) throw new Error(login.stderr);
  const dbLogin = await tsh(who, ['db', 'login', `--db-user=${name}`, '--db-name=audited', 'example']);
  if (dbLogin.code !== 0) throw new Error(dbLogin.stderr);
  people[name] = who;
  return who;
}

function expectOk(result: RunResult): RunResult {
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
  return result;
}

/** The session psql opens through the proxy with the service file from `tsh db login`. */
function psqlAs(who: Person, script: string): Promise<RunResult> {
  return psql(['-X', '-v', 'ON_ERROR_STOP=0', `service=${CLUSTER}-example`], { input: script, env: { PGSERVICEFILE: who.serviceFile } });
}

/** GET on the proxy's HTTPS API with the person's tsh credentials. */
function apiGet(who: Person, path: string): Promise<{ status: number; text: string }> {
  const profile = loadCurrentProfile(who.home)!;
  const [host, port] = cluster.proxyAddr.split(':');
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port: Number(port), path, rejectUnauthorized: false, cert: profile.identity.certPem, key: profile.identity.privateKeyPem },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Waits until the index has the session with every event up to its end. */
async function indexed(who: Person, sid: string, events: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const played = await tsh(who, ['play', '--format=json', sid]);
    if (played.code === 0 && (JSON.parse(played.stdout) as unknown[]).length === events) return;
    if (Date.now() > deadline) throw new Error(`session ${sid} was not indexed in 20s: ${played.stderr || played.stdout.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const SETUP = `CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; CREATE ROLE carol LOGIN; CREATE ROLE audrey LOGIN;
CREATE DATABASE audited OWNER alice;
\\c audited
GRANT ALL ON SCHEMA public TO PUBLIC;
`;

/** Fifty statements as psql sends them, one Query each: plain, prepared, failing and COPY. */
const STATEMENTS: string[] = [
  'CREATE TABLE items (id int PRIMARY KEY, name text)',
  "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three')",
  'SELECT * FROM items ORDER BY id',
  "UPDATE items SET name = 'uno' WHERE id = 1",
  'SELECT * FROM missing_table',
  'PREPARE add_item(int, text) AS INSERT INTO items VALUES ($1, $2)',
  ...Array.from({ length: 10 }, (_, i) => `EXECUTE add_item(${10 + i}, 'item ${10 + i}')`),
  'SELECT 1/0',
  'BEGIN',
  'DELETE FROM items WHERE id >= 15',
  'ROLLBACK',
  'COPY items FROM STDIN',
  'COPY items TO STDOUT',
  ...Array.from({ length: 24 }, (_, i) => `SELECT count(*) FROM items WHERE id > ${i}`),
  'DEALLOCATE add_item',
  "SELECT 'multi',\n       'line'",
  'DROP TABLE items',
  'SELECT version() IS NOT NULL',
];

function psqlScript(): string {
  return (
    STATEMENTS.map((s) => (s === 'COPY items FROM STDIN' ? `${s};\n100\thundred\n101\thundred one\n102\t\\N\n\\.` : `${s};`)).join('\n') +
    '\n'
  );
}

beforeAll(async () => {
  cluster = await TestCluster.start({
    clusterName: CLUSTER,
    extraConfig: '',
  });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql(SETUP);
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
  expectOk(
    await cluster.tctl(['create'], {
      input:
        'kind: role\nversion: v7\nmetadata:\n  name: recorder\nspec:\n  options:\n    record_query_results:\n      max_rows: 2\n      max_value_length: 8\n',
    }),
  );
  await person('alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
  await person('bob', ['--roles=access', '--db-users=bob', '--db-names=*']);
  await person('carol', ['--roles=access,recorder', '--db-users=carol', '--db-names=*']);
  await person('audrey', ['--roles=access,auditor', '--db-users=audrey', '--db-names=*']);
}, 240_000);

afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

describe('a psql session of 50 mixed statements', () => {
  let sid: string;
  let stored: Array<Record<string, any>>;

  beforeAll(async () => {
    expect(STATEMENTS).toHaveLength(50);
    const session = await psqlAs(people.alice!, psqlScript());
    expect(session.stderr).toContain('relation "missing_table" does not exist');
    const log = await waitForSession(cluster, (s) => s.user === 'alice' && s.db_name === 'audited' && s.success);
    sid = log.sid;
    stored = log.messages.map((m) => m.event).sort((a, b) => a.ei - b.ei);
    await indexed(people.alice!, sid, stored.length);
  }, 60_000);

  it('plays back as JSON: exactly the session events, in order, with their fields', async () => {
    const played = JSON.parse(expectOk(await tsh(people.alice!, ['play', '--format=json', sid])).stdout) as Array<Record<string, any>>;
    expect(played).toEqual(stored);
    const queries = played.filter((e) => e.event === 'db.session.query').map((e) => String(e.db_query).replace(/;$/, ''));
    expect(queries).toEqual(STATEMENTS);
    expect(played[0]).toMatchObject({ event: 'db.session.start', code: 'TDB00I', sid, user: 'alice', db_service: 'example' });
    expect(played.at(-1)).toMatchObject({ event: 'db.session.end', code: 'TDB01I' });
  });

  it('plays back as YAML: the same events', async () => {
    const { parse } = await import('yaml');
    expect(parse(expectOk(await tsh(people.alice!, ['play', '--format=yaml', sid])).stdout)).toEqual(stored);
  });

  it('plays back as text: a transcript with prompts, statements, SUCCESS and row counts, and errors', async () => {
    const text = expectOk(await tsh(people.alice!, ['play', '--format=text', sid])).stdout;
    expect(text).toMatch(/^Session started to database "example" at \w{3} \w{3} [ \d]\d \d\d:\d\d UTC\n/);
    expect(text).toMatch(/\nSession ended at \w{3} \w{3} [ \d]\d \d\d:\d\d UTC\n$/);
    expect(text.match(/^audited=> /gm)).toHaveLength(50);
    for (const expected of [
      '\naudited=> CREATE TABLE items (id int PRIMARY KEY, name text);\nSUCCESS\n(0 rows affected)\n',
      "\naudited=> INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');\nSUCCESS\n(3 rows affected)\n",
      '\naudited=> SELECT * FROM items ORDER BY id;\nSUCCESS\n(3 rows affected)\n',
      "\naudited=> UPDATE items SET name = 'uno' WHERE id = 1;\nSUCCESS\n(1 row affected)\n",
      '\naudited=> SELECT * FROM missing_table;\nrelation "missing_table" does not exist\n',
      "\naudited=> EXECUTE add_item(12, 'item 12');\nSUCCESS\n(1 row affected)\n",
      '\naudited=> SELECT 1/0;\ndivision by zero\n',
      '\naudited=> COPY items FROM STDIN;\nSUCCESS\n(3 rows affected)\n',
      '\naudited=> COPY items TO STDOUT;\nSUCCESS\n(16 rows affected)\n',
      "\naudited=> SELECT 'multi',\n          'line';\nSUCCESS\n(1 row affected)\n",
    ]) {
      expect(text).toContain(expected);
    }
    // Without a role that records them, no rows are shown.
    expect(text).not.toContain('hundred one');
  });

  it('lists the session for its owner with its statement count and outcome', async () => {
    const listed = JSON.parse(expectOk(await tsh(people.alice!, ['recordings', 'ls', '--format=json'])).stdout) as Array<
      Record<string, any>
    >;
    expect(listed.find((s) => s.sid === sid)).toMatchObject({
      user: 'alice',
      db_service: 'example',
      db_user: 'alice',
      db_name: 'audited',
      statements: 50,
      errors: 2,
      outcome: 'ok',
    });
    const table = expectOk(await tsh(people.alice!, ['recordings', 'ls'])).stdout;
    expect(table.split('\n')[0]).toMatch(/^ID\s+User\s+Database\s+DB User\s+DB Name\s+Started\s+Duration\s+Statements\s+Outcome$/);
    expect(table).toMatch(new RegExp(`${sid}\\s+alice\\s+example\\s+alice\\s+audited\\s+\\S+ \\S+ UTC\\s+\\S+\\s+50\\s+ok \\(2 errors\\)`));
  });

  it('keeps it from another user without audit access, on the CLI and the HTTPS API', async () => {
    const bob = people.bob!;
    const play = await tsh(bob, ['play', '--format=json', sid]);
    expect(play.code).not.toBe(0);
    expect(play.stderr).toContain(`ERROR: access denied to session ${sid}: user "bob" may play only their own sessions`);
    const list = await tsh(bob, ['recordings', 'ls', '--user=alice']);
    expect(list.code).not.toBe(0);
    expect(list.stderr).toContain('access denied: user "bob" may list only their own sessions');
    const own = JSON.parse(expectOk(await tsh(bob, ['recordings', 'ls', '--format=json'])).stdout) as Array<{ user: string }>;
    expect(own.every((s) => s.user === 'bob')).toBe(true);

    const events = await apiGet(bob, `/v1/webapi/sessions/${sid}/events`);
    expect(events.status).toBe(403);
    expect(JSON.parse(events.text).error.message).toContain('may play only their own sessions');
    expect((await apiGet(bob, `/v1/webapi/sessions/${sid}`)).status).toBe(403);
    expect((await apiGet(bob, '/v1/webapi/sessions?user=alice')).status).toBe(403);
    expect((await apiGet(bob, '/v1/webapi/events?user=alice')).status).toBe(403);
    const search = await apiGet(bob, '/v1/webapi/events?type=db.session.query');
    expect(search.status).toBe(200);
    expect((JSON.parse(search.text).events as Array<{ user: string }>).every((e) => e.user === 'bob')).toBe(true);
  });

  it('shows it to an auditor', async () => {
    const played = JSON.parse(expectOk(await tsh(people.audrey!, ['play', '--format=json', sid])).stdout) as unknown[];
    expect(played).toEqual(stored);
    const listed = JSON.parse(expectOk(await tsh(people.audrey!, ['recordings', 'ls', '--user=alice', '--format=json'])).stdout) as Array<{
      sid: string;
    }>;
    expect(listed.map((s) => s.sid)).toContain(sid);
    const api = await apiGet(people.audrey!, `/v1/webapi/events?sid=${sid}&type=db.session.query&limit=5`);
    expect(JSON.parse(api.text).events).toHaveLength(5);
  });
});

describe('tsh play refuses', () => {
  it("an id that is not a UUID, with Teleport's message", async () => {
    const result = await tsh(people.alice!, ['play', 'not-a-session']);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toBe("ERROR: 'not-a-session' is not a valid session ID (must be GUID)");
  });

  it('an unknown session, saying it was not found', async () => {
    const result = await tsh(people.alice!, ['play', '--format=text', '00000000-0000-4000-8000-000000000000']);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toBe('ERROR: session 00000000-0000-4000-8000-000000000000 not found');
  });
});

it('shows prepared statements of the extended protocol with their parameters', async () => {
  const client = new pg.Client(proxyConnection(people.bob!.serviceFile, `${CLUSTER}-example`, { application_name: 'prepared-test' }));
  await client.connect();
  await client.query('SELECT $1::text AS greeting, $2::int AS n', ['hello "world"', 7]);
  await client.query({ name: 'named', text: 'SELECT $1::int + 1 AS next', values: [41] });
  await client.query({ name: 'named', text: 'SELECT $1::int + 1 AS next', values: [99] });
  await client.end();
  const log = await waitForSession(cluster, (s) => s.user_agent === 'prepared-test');
  await indexed(people.bob!, log.sid, log.messages.length);
  const text = expectOk(await tsh(people.bob!, ['play', '--format=text', log.sid])).stdout;
  expect(text).toContain(
    '\naudited=> SELECT $1::text AS greeting, $2::int AS n ($1 = "hello \\"world\\"", $2 = "7")\nSUCCESS\n(1 row affected)\n',
  );
  expect(text).toContain('\naudited=> SELECT $1::int + 1 AS next ($1 = "41")\nSUCCESS\n(1 row affected)\n');
  expect(text).toContain('\naudited=> SELECT $1::int + 1 AS next ($1 = "99")\nSUCCESS\n(1 row affected)\n');
});

it('records the first rows of each result when a role asks, values cut to the set length', async () => {
  const session = await psqlAs(people.carol!, "SELECT n, repeat('x', n * 3) AS xs FROM generate_series(1, 5) AS n;\n");
  expect(session.code).toBe(0);
  const log = await waitForSession(cluster, (s) => s.user === 'carol');
  await indexed(people.carol!, log.sid, log.messages.length);
  const text = expectOk(await tsh(people.carol!, ['play', '--format=text', log.sid])).stdout;
  expect(text).toContain(' n | xs\n---+--------\n 1 | xxx\n 2 | xxxxxx\n(first 2 rows recorded)\n(5 rows affected)\n');
  const events = JSON.parse(expectOk(await tsh(people.carol!, ['play', '--format=json', log.sid])).stdout) as Array<Record<string, any>>;
  expect(events.find((e) => e.event === 'db.session.result')).toMatchObject({
    code: 'TDB10I',
    affected_records: 5,
    result_columns: ['n', 'xs'],
    result_rows: [
      ['1', 'xxx'],
      ['2', 'xxxxxx'],
    ],
    result_rows_truncated: true,
  });
  // Values longer than max_value_length are cut: the third row would show 'xxxxxxxx…'.
  const wide = await psqlAs(people.carol!, "SELECT repeat('y', 20) AS ys;\n");
  expect(wide.code).toBe(0);
  const second = await waitForSession(cluster, (s) => s.user === 'carol' && s.sid !== log.sid);
  await indexed(people.carol!, second.sid, second.messages.length);
  expect(expectOk(await tsh(people.carol!, ['play', '--format=text', second.sid])).stdout).toContain(
    ' ys\n-----------\n yyyyyyyy…\n(1 row affected)\n',
  );
});

it('follows a live session: its statements show while it runs, and the command ends with it', async () => {
  const client = new pg.Client(proxyConnection(people.alice!.serviceFile, `${CLUSTER}-example`, { application_name: 'followed' }));
  await client.connect();
  await client.query("SELECT 'first statement'");
  const start = (await readAudit(cluster)).find((m) => m.event.event === 'db.session.start' && m.event.user_agent === 'followed')!;
  const sid = start.event.sid as string;
  expect(sid).toMatch(UUID);

  const follower = spawn(process.execPath, [BIN.tsh, 'play', '--follow', '--format=text', sid], {
    env: { ...process.env, TELEPORT_HOME: people.alice!.home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  follower.stdout.on('data', (d: Buffer) => (output += d.toString()));
  follower.stderr.on('data', (d: Buffer) => (errors += d.toString()));
  const exited = new Promise<number>((resolve) => follower.on('exit', (code) => resolve(code ?? -1)));
  const waitFor = async (text: string) => {
    const deadline = Date.now() + 15_000;
    while (!output.includes(text)) {
      if (Date.now() > deadline) throw new Error(`follow did not show ${JSON.stringify(text)} in 15s: ${output}${errors}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await waitFor("audited=> SELECT 'first statement'\nSUCCESS\n(1 row affected)\n");
  await client.query("SELECT 'while following'");
  await waitFor("audited=> SELECT 'while following'\nSUCCESS\n(1 row affected)\n");
  expect(follower.exitCode).toBeNull();
  await client.end();
  const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-99), 15_000))]);
  expect(code).toBe(0);
  expect(output).toMatch(/\nSession ended at .* UTC\n$/);
});
