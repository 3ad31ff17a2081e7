// What a client sees through the proxy is what it sees connected to PostgreSQL itself: every scenario
// below runs once through the proxy (the files `tsh db login` saved) and once straight to the database
// (a db_client certificate), each in a database of its own with the same schema, and the two outcomes
// must be equal: rows, column types, command tags, errors with all their fields, transaction states.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import pg from 'pg';
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import {
  directConnection,
  loginUser,
  proxyConnection,
  startClusterPostgres,
  startDbService,
  tempDir,
  type DbServiceProcess,
} from '../support/data-plane.js';

const CLUSTER = 'compat';
const SECTION = `${CLUSTER}-example`;

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;
let serviceFile: string;
let directServiceFile: string;
let work: string;
/** The two ways in; each has a database of its own (`via_proxy`, `direct`) so that writes do not meet. */
const ways: Record<'proxy' | 'direct', pg.ClientConfig> = {} as never;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;\nCREATE DATABASE via_proxy OWNER alice;\nCREATE DATABASE direct OWNER alice;\n');
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
  work = tempDir(cluster, 'compat-');
  serviceFile = join(work, 'pg_service.conf');
  const login = await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=via_proxy', 'example'], {
    env: { PGSERVICEFILE: serviceFile, HOME: work },
  });
  if (login.code !== 0) throw new Error(login.stderr);
  ways.proxy = proxyConnection(serviceFile, SECTION);
  ways.direct = await directConnection(cluster, postgres, 'alice', 'direct');

  // The same direct connection as a libpq service, for psql.
  const ssl = ways.direct.ssl as { ca: string[]; cert: string; key: string };
  writeFileSync(join(work, 'direct-ca.pem'), ssl.ca.join('\n'));
  writeFileSync(join(work, 'direct.crt'), ssl.cert);
  writeFileSync(join(work, 'direct.key'), ssl.key, { mode: 0o600 });
  directServiceFile = join(work, 'direct_service.conf');
  writeFileSync(
    directServiceFile,
    [
      '[direct]',
      'host=localhost',
      `port=${postgres.port}`,
      'user=alice',
      'dbname=direct',
      'sslmode=verify-full',
      `sslrootcert=${join(work, 'direct-ca.pem')}`,
      `sslcert=${join(work, 'direct.crt')}`,
      `sslkey=${join(work, 'direct.key')}`,
      'gssencmode=disable',
      '',
    ].join('\n'),
  );
}, 180_000);

afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

// ---- outcomes that do not depend on which database of the two answered ----

/** Column descriptions without the table OID and column number, which differ between the two databases. */
function fields(result: pg.QueryResult): unknown[] {
  return result.fields.map((f) => ({
    name: f.name,
    type: f.dataTypeID,
    size: f.dataTypeSize,
    modifier: f.dataTypeModifier,
    format: f.format,
  }));
}

function outcome(result: pg.QueryResult | pg.QueryResult[]): unknown {
  if (Array.isArray(result)) return result.map((r) => outcome(r));
  return { command: result.command, rowCount: result.rowCount, fields: fields(result), rows: result.rows };
}

const ERROR_FIELDS = [
  'severity',
  'code',
  'message',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'routine',
] as const;

function failure(err: unknown): unknown {
  if (!(err instanceof Error)) return { thrown: String(err) };
  const e = err as unknown as Record<string, unknown>;
  return { error: Object.fromEntries(ERROR_FIELDS.filter((k) => e[k] !== undefined).map((k) => [k, e[k]])) };
}

/** The outcome of one query, whether it succeeded or failed. */
type Query = string | (pg.QueryConfig & { rowMode?: 'array'; binary?: boolean });

async function attempt(client: pg.Client, query: Query, values?: unknown[]): Promise<unknown> {
  try {
    return outcome(await client.query(query as pg.QueryConfig, values));
  } catch (err) {
    return failure(err);
  }
}

async function withClient<T>(config: pg.ClientConfig, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  // A dropped connection fails the pending queries; without a listener it would also crash the run.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** Fails after `ms` with the Database Service's log, rather than leave the test to its timeout. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} took more than ${ms} ms; Database Service log:\n${service.logs().slice(-4000)}`)),
      ms,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `scenario` through the proxy, then directly; both outcomes must be equal. Returns the direct one. */
async function same<T>(scenario: (config: pg.ClientConfig) => Promise<T>): Promise<T> {
  const viaProxy = await within(90_000, 'through the proxy', scenario(ways.proxy));
  const direct = await within(90_000, 'directly', scenario(ways.direct));
  expect(viaProxy).toEqual(direct);
  return direct;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const UNICODE = ['ünïcødé', '日本語テキスト', 'עברית', '🍎🎉👩‍👩‍👧', 'e\u0301 (combining)', 'tab\tnew\nline', "quote ' and \\ backslash"];

// ---- scenarios ----

it('gives the same results for the simple query protocol: DDL, DML, types, several statements in one query, errors', async () => {
  const direct = await same((config) =>
    withClient(config, async (c) => {
      const out: unknown[] = [];
      const run = async (sql: string) => out.push(await attempt(c, sql));
      await run('drop table if exists items');
      await run(
        "create table items (id serial primary key, name text not null, price numeric(10,2), tags text[], meta jsonb, at timestamptz default '2024-01-02 03:04:05.678+00')",
      );
      await run(
        `insert into items (name, price, tags, meta) values ('apple', 1.25, '{red,green}', '{"a": [1, 2, {"b": null}]}'),` +
          ` ('${UNICODE.join(' ').replace(/'/g, "''")}', null, null, null), ('O''Brien', 3, '{}', '[]') returning id, name`,
      );
      await run('update items set price = price * 2 where price is not null');
      await run('select * from items order by id');
      await run("select id, name from items where name like 'none%'");
      await run("delete from items where name like 'O%'");
      await run("select 1 as one; select 'two' as two, null::int as nothing; update items set price = 0 where false");
      await run("select null::text as n, '' as empty, 1.5::float8 as f, 12345678901234::int8 as big, true as b, 'NaN'::numeric as nan");
      await run("select repeat('x', 100000) as long, array[1, null, 3] as arr, '\\x00ff'::bytea as bytes, interval '1 day 2 hours' as iv");
      await run(`select ${UNICODE.map((u, i) => `'${u.replace(/'/g, "''")}' as u${i}`).join(', ')}`);
      await run('');
      await run('select * from missing_table');
      await run('selec 1');
      await run("insert into items (id, name) values (1, 'duplicate')");
      await run('insert into items (name) values (null)');
      await run('select count(*) from items');
      await run('drop table items');
      return out;
    }),
  );
  // Not two identical failures: the baseline itself is what PostgreSQL says.
  expect(direct[4]).toMatchObject({ command: 'SELECT', rowCount: 3 });
  expect(direct[12]).toMatchObject({ error: { code: '42P01', message: 'relation "missing_table" does not exist' } });
  expect(direct[15]).toMatchObject({ error: { code: '23502', table: 'items', column: 'name' } });
  expect(direct[16]).toMatchObject({ rows: [{ count: '2' }] });
});

it('gives the same results for the extended protocol: named statements, many, NULL, unicode and binary parameters', async () => {
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const many = Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? null : i % 5 === 0 ? UNICODE[i % UNICODE.length]! : `v${i}`));
  const direct = await same((config) =>
    withClient(config, async (c) => {
      const out: unknown[] = [];
      const run = async (q: Query, values?: unknown[]) => out.push(await attempt(c, q, values));
      await run('create temp table kv (k text primary key, v text, b bytea)');
      const insert = { name: 'insert-kv', text: 'insert into kv (k, v, b) values ($1, $2, $3) returning k, v, b' };
      for (const [i, u] of UNICODE.entries()) await run({ ...insert, values: [`k${i}`, u, Buffer.from(u)] });
      await run({ ...insert, values: ['nulls', null, null] });
      await run({ ...insert, values: ['bytes', undefined, bytes] });
      await run({ ...insert, values: ['k0', 'duplicate key', null] });
      await run({ name: 'get-kv', text: 'select k, v, b, length(b) as n, md5(b) as md5 from kv where k = $1' }, ['bytes']);
      await run({ name: 'get-kv', text: 'select k, v, b, length(b) as n, md5(b) as md5 from kv where k = $1', rowMode: 'array' }, ['k3']);
      await run({ name: 'get-kv', text: 'select k, v, b, length(b) as n, md5(b) as md5 from kv where k = $1' }, ['nulls']);
      await run('select k, v from kv order by k');
      await run('select $1::bytea as b, $2::text is null as text_null, $3::int as n', [bytes, null, 42]);
      await run(`select array[${many.map((_, i) => `$${i + 1}::text`).join(', ')}] as arr`, many);
      await run({ text: 'select $1::int4 as i, $2::text as t, $3::bytea as b', values: [7, 'binary results', bytes], binary: true });
      await run({ name: 'bad-int', text: 'select $1::int as i' }, ['not a number']);
      await run({ name: 'bad-int', text: 'select $1::int as i' }, ['12']);
      await run({ name: 'broken', text: 'selec $1' }, ['x']);
      await run({ text: 'select $1::text as t' }, ['too', 'many']);
      return out;
    }),
  );
  expect(direct[UNICODE.length + 1]).toMatchObject({ rows: [{ k: 'nulls', v: null, b: null }] });
  expect(direct[UNICODE.length + 2]).toMatchObject({ rows: [{ k: 'bytes', v: null, b: bytes }] });
  expect(direct[UNICODE.length + 3]).toMatchObject({ error: { code: '23505' } });
  expect(direct[UNICODE.length + 4]).toMatchObject({ rows: [{ n: 256, md5: createHash('md5').update(bytes).digest('hex') }] });
  expect(direct[UNICODE.length + 9]).toMatchObject({ rows: [{ arr: many }] });
  expect(direct[UNICODE.length + 11]).toMatchObject({ error: { code: '22P02' } });
  expect(direct[UNICODE.length + 12]).toMatchObject({ rows: [{ i: 12 }] });
});

it('gives the same errors and transaction states for a transaction that fails in the middle, then rolls back', async () => {
  const direct = await same((config) =>
    withClient(config, async (c) => {
      const states: string[] = [];
      // ReadyForQuery's status after every query: I idle, T in a transaction, E in a failed one.
      c.connection.on('readyForQuery', (msg: { status: string }) => states.push(msg.status));
      const out: unknown[] = [];
      const run = async (q: string, values?: unknown[]) => out.push(await attempt(c, q, values));
      await run('create temp table tx (n int primary key)');
      await run('begin');
      await run('insert into tx values (1), (2)');
      await run('select 1 / 0');
      await run('select count(*) from tx');
      await run('insert into tx values ($1)', [3]);
      await run('commit');
      await run('select count(*) from tx');
      await run('begin');
      await run('insert into tx values (10)');
      await run('savepoint s');
      await run('insert into tx values (10)');
      await run('rollback to savepoint s');
      await run('insert into tx values ($1)', [11]);
      await run('commit');
      await run('select n from tx order by n');
      await run('rollback');
      return { out, states };
    }),
  );
  expect(direct.out[3]).toMatchObject({ error: { code: '22012', message: 'division by zero' } });
  expect(direct.out[4]).toMatchObject({ error: { code: '25P02' } });
  expect(direct.out[6]).toMatchObject({ command: 'ROLLBACK' });
  expect(direct.out[7]).toMatchObject({ rows: [{ count: '0' }] });
  expect(direct.out[15]).toMatchObject({ rows: [{ n: 10 }, { n: 11 }] });
  expect(direct.states).toEqual(['I', 'T', 'T', 'E', 'E', 'E', 'I', 'I', 'T', 'T', 'T', 'E', 'T', 'T', 'I', 'I', 'I']);
});

it('gives the same results for 200 queries in flight at once, with and without pipelining on the wire', async () => {
  for (const pipeline of [true, false]) {
    const direct = await same((config) =>
      withClient({ ...config, pipeline }, async (c) => {
        await c.query('create temp table seen (i int)');
        const pending = Array.from({ length: 200 }, (_, i) => {
          if (i % 50 === 49) return c.query('select 1 / 0 as boom');
          if (i % 4 === 0) return c.query(`select ${i} as i, '${UNICODE[i % UNICODE.length]!.replace(/'/g, "''")}' as u`);
          if (i % 4 === 1) return c.query({ text: 'select $1::int * 2 as twice, $2::text as t', values: [i, `p${i}`] });
          if (i % 4 === 2) return c.query({ name: 'seen', text: 'insert into seen values ($1) returning i', values: [i] });
          return c.query('select count(*) as n from seen');
        });
        const settled = await Promise.allSettled(pending);
        return settled.map((s) => (s.status === 'fulfilled' ? outcome(s.value) : failure(s.reason)));
      }),
    );
    expect(direct).toHaveLength(200);
    expect(direct[49]).toMatchObject({ error: { code: '22012' } });
    expect(direct[199]).toMatchObject({ error: { code: '22012' } });
    expect(direct[195]).toMatchObject({ rows: [{ n: '49' }] });
  }
});

it('delivers LISTEN/NOTIFY between two sessions the same way', async () => {
  const direct = await same(async (config) => {
    const listener = new pg.Client(config);
    const notifier = new pg.Client(config);
    listener.on('error', () => undefined);
    notifier.on('error', () => undefined);
    await listener.connect();
    await notifier.connect();
    try {
      const got: { channel: string; payload?: string; processId: number }[] = [];
      listener.on('notification', (n) => got.push({ channel: n.channel, payload: n.payload, processId: n.processId }));
      const waitFor = async (count: number) => {
        const deadline = Date.now() + 10_000;
        while (got.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      };
      await listener.query('listen "chan ü"');
      await listener.query('listen control');
      const senderPid = (await notifier.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      await notifier.query(`notify "chan ü", 'hello'`);
      await notifier.query(`select pg_notify('chan ü', $1)`, ['unicode ✓ 🍎']);
      await notifier.query(`notify "chan ü"`);
      await notifier.query(`select pg_notify('control', $1)`, ['x'.repeat(7999)]);
      await notifier.query('begin');
      await notifier.query(`notify control, 'in transaction'`);
      await notifier.query(`notify control, 'in transaction'`);
      await notifier.query(`notify control, 'second'`);
      await notifier.query('commit');
      await waitFor(6);
      await listener.query('unlisten "chan ü"');
      await notifier.query(`notify "chan ü", 'after unlisten'`);
      await notifier.query(`notify control, 'last'`);
      await waitFor(7);
      await new Promise((r) => setTimeout(r, 200));
      // The sender's process id is the database backend's, through the proxy too.
      return got.map((n) => ({ channel: n.channel, payload: n.payload, fromSender: n.processId === senderPid }));
    } finally {
      await listener.end();
      await notifier.end();
    }
  });
  expect(direct).toEqual([
    { channel: 'chan ü', payload: 'hello', fromSender: true },
    { channel: 'chan ü', payload: 'unicode ✓ 🍎', fromSender: true },
    { channel: 'chan ü', payload: '', fromSender: true },
    { channel: 'control', payload: 'x'.repeat(7999), fromSender: true },
    { channel: 'control', payload: 'in transaction', fromSender: true },
    { channel: 'control', payload: 'second', fromSender: true },
    { channel: 'control', payload: 'last', fromSender: true },
  ]);
});

it('gives the client the backend process id the database has (BackendKeyData)', async () => {
  const direct = await same((config) =>
    withClient(config, async (c) => {
      const pid = (await c.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      return { samePid: (c as unknown as { processID: number }).processID === pid };
    }),
  );
  expect(direct).toEqual({ samePid: true });
});

it('passes on the notices the database says while the session starts, and its startup errors with every field', async () => {
  const bad = 'public.no_such_config';
  await postgres.psql(
    `ALTER DATABASE via_proxy SET default_text_search_config = '${bad}';\nALTER DATABASE direct SET default_text_search_config = '${bad}';`,
  );
  try {
    const direct = await same(async (config) => {
      const client = new pg.Client(config);
      const notices: unknown[] = [];
      client.on('notice', (n) => notices.push(failure(Object.assign(new Error(n.message), n))));
      client.on('error', () => undefined);
      await client.connect();
      await client.end();
      const missing = new pg.Client({ ...config, database: 'no_such_database' });
      missing.on('error', () => undefined);
      const refused = await missing.connect().then(
        () => 'connected',
        (err: unknown) => ({ ...(failure(err) as object), line: (err as { line?: string }).line }),
      );
      return { notices, refused };
    });
    expect(direct.notices).toEqual([
      { error: expect.objectContaining({ severity: 'WARNING', code: '22023', message: expect.stringContaining(bad) }) },
    ]);
    expect(direct.refused).toMatchObject({
      error: { severity: 'FATAL', code: '3D000', message: 'database "no_such_database" does not exist', file: expect.any(String) },
      line: expect.any(String),
    });
  } finally {
    await postgres.psql(
      'ALTER DATABASE via_proxy RESET default_text_search_config;\nALTER DATABASE direct RESET default_text_search_config;',
    );
  }
});

it('runs a 140 MB query (more than 128 MiB), which PostgreSQL accepts, the same way', async () => {
  const direct = await same((config) =>
    withClient(config, async (c) => outcome(await c.query(`select length('${'q'.repeat(140_000_000)}') as n`))),
  );
  expect(direct).toMatchObject({ rows: [{ n: 140_000_000 }] });
});

it('looks the same to psycopg2 (libpq): backend pid, NOTIFY sender pid, startup notices and errors', async () => {
  const bad = 'public.no_such_config';
  await postgres.psql(
    `ALTER DATABASE via_proxy SET default_text_search_config = '${bad}';\nALTER DATABASE direct SET default_text_search_config = '${bad}';`,
  );
  try {
    const probe = async (file: string, svc: string) => {
      const r = await run(PYTHON, [fileURLToPath(new URL('../support/psycopg-probe.py', import.meta.url)), svc], {
        PGSERVICEFILE: file,
        HOME: work,
        LC_ALL: 'C.UTF-8',
      });
      // Its stderr in the failure, to say why.
      expect({ code: r.code, stderr: r.code ? r.stderr : '' }).toEqual({ code: 0, stderr: '' });
      return { seen: JSON.parse(r.stdout) as unknown, notices: r.stderr };
    };
    const viaProxy = await probe(serviceFile, SECTION);
    const direct = await probe(directServiceFile, 'direct');
    expect(viaProxy).toEqual(direct);
    expect(direct.seen).toEqual({
      backend_pid_matches: true,
      notify: { channel: 'probe channel', payload: 'hello', from_sender: true, to_own_session_pid: true },
      missing_database: 'FATAL:  database "no_such_database" does not exist\n',
    });
    // Two sessions started, each warned once by libpq's default notice processor.
    expect(direct.notices.match(/WARNING: {2}invalid value for parameter "default_text_search_config"/g)).toHaveLength(2);
  } finally {
    await postgres.psql(
      'ALTER DATABASE via_proxy RESET default_text_search_config;\nALTER DATABASE direct RESET default_text_search_config;',
    );
  }
});

it('stores and returns a 50 MB value passed as a parameter', async () => {
  // 37.5 MB of random bytes as base64: exactly 50,000,000 characters.
  const value = randomBytes(37_500_000).toString('base64');
  const expected = sha256(value);
  const direct = await same((config) =>
    withClient(config, async (c) => {
      await c.query('create temp table big (id int, v text)');
      const inserted = await c.query('insert into big (id, v) values ($1, $2)', [1, value]);
      const back = await c.query('select v from big where id = 1');
      const v = back.rows[0].v as string;
      const summary = await c.query('select length(v) as length, md5(v) as md5 from big');
      return { inserted: inserted.rowCount, length: v.length, sha256: sha256(v), server: summary.rows[0] };
    }),
  );
  expect(direct).toEqual({
    inserted: 1,
    length: 50_000_000,
    sha256: expected,
    server: { length: 50_000_000, md5: createHash('md5').update(value).digest('hex') },
  });
}, 180_000);

/** Debian's Python, where apt installs python3-psycopg2 (a python3 of pyenv or a venv may come first on PATH). */
const PYTHON = '/usr/bin/python3';

/** Runs psql with a service file and no other environment it could pick settings up from. */
function psql(serviceFile: string, service: string, commands: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['-X', '-v', 'ON_ERROR_STOP=1', '-At', `service=${service}`, ...commands.flatMap((c) => ['-c', c])];
  return run('psql', args, { PGSERVICEFILE: serviceFile, HOME: work, PGCONNECT_TIMEOUT: '10', LC_ALL: 'C.UTF-8' });
}

/** Runs a client program with only PATH and `env` in its environment. */
function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? -1, stdout, stderr });
    });
  });
}

/**
 * COPY text format, one row per line as PostgreSQL writes it back: id, a label with escapes and unicode,
 * NULL as \N, a 100-character body. Written in pieces, never held whole.
 */
async function writeCopyFile(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  const body = (i: number) => createHash('sha256').update(String(i)).digest('hex').repeat(2).slice(0, 100);
  const BATCH = 10_000;
  for (let start = 1; start <= rows; start += BATCH) {
    let text = '';
    for (let i = start; i < start + BATCH && i <= rows; i++) {
      const label = i % 10 === 0 ? '\\N' : i % 3 === 0 ? `tab\\there ü ${i}` : i % 3 === 1 ? `back\\\\slash 🍎 ${i}` : `plain ${i}`;
      text += `${i}\t${label}\t${body(i)}\n`;
    }
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

it('copies more than 100 MB in and out with psql \\copy the same way', async () => {
  const ROWS = 900_000;
  const input = join(work, 'copy-in.tsv');
  await writeCopyFile(input, ROWS);
  expect(statSync(input).size).toBeGreaterThan(100 * 1024 * 1024);
  const inputSha = await sha256File(input);

  const copy = async (file: string, svc: string, name: string) => {
    const output = join(work, `copy-out-${name}.tsv`);
    const res = await psql(file, svc, [
      'create table copy_t (id int, label text, body text)',
      `\\copy copy_t from '${input}'`,
      `\\copy (select * from copy_t order by id) to '${output}'`,
      'select count(*), count(label), sum(length(body)) from copy_t',
      'drop table copy_t',
    ]);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    return { stdout: res.stdout, size: statSync(output).size, sha256: await sha256File(output) };
  };
  const viaProxy = await copy(serviceFile, SECTION, 'proxy');
  const direct = await copy(directServiceFile, 'direct', 'direct');
  expect(viaProxy).toEqual(direct);
  expect(direct).toEqual({
    stdout: `CREATE TABLE\nCOPY ${ROWS}\nCOPY ${ROWS}\n${ROWS}|${ROWS - ROWS / 10}|${ROWS * 100}\nDROP TABLE\n`,
    size: statSync(input).size,
    sha256: inputSha,
  });
}, 300_000);
