// Every statement of a session through the proxy is in the AUDIT stream exactly once, with its exact
// text, under Teleport's event names, codes and field names (TELEPORT-FACTS.md sections 1 and 3), in
// order, and none is lost when NATS goes away for a moment. The stream is read straight from NATS.
import { join } from 'node:path';
import type { Socket } from 'node:net';
import pg from 'pg';
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import { loginUser, proxyConnection, startClusterPostgres, startDbService, tempDir, type DbServiceProcess } from '../support/data-plane.js';
import { waitForSession, type AuditMessage, type SessionLog } from '../support/audit-log.js';

const CLUSTER = 'audit-cluster';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;
let serviceFile: string;
let hostId: string;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;\nCREATE DATABASE audited OWNER alice;\n');
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
  hostId = /Database Service (\S+) serving/.exec(service.logs())![1]!;
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
  const home = tempDir(cluster, 'home-');
  serviceFile = join(home, 'pg_service.conf');
  const login = await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=audited', 'example'], {
    env: { PGSERVICEFILE: serviceFile, HOME: home },
  });
  if (login.code !== 0) throw new Error(login.stderr);
}, 180_000);

afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

interface Session {
  client: pg.Client;
  /** The client's end of its connection to the proxy: what the proxy saw as `addr.remote`. */
  addr: string;
}

async function connect(applicationName?: string): Promise<Session> {
  const client = new pg.Client(
    proxyConnection(serviceFile, `${CLUSTER}-example`, applicationName ? { application_name: applicationName } : {}),
  );
  client.on('error', () => undefined);
  await client.connect();
  const stream = (client as unknown as { connection: { stream: Socket } }).connection.stream;
  return { client, addr: `${stream.localAddress}:${stream.localPort}` };
}

/** The session's events in event-index order, after checking what every event of it shares. */
function checkSession(log: SessionLog, session: Session, userAgent: string | undefined, since: number): Record<string, any>[] {
  const events = [...log.messages].map((m) => m.event).sort((a, b) => a.ei - b.ei);
  // Each event once, numbered from 0 without gaps, each under audit.<sid>.<event>.
  expect(events.map((e) => e.ei)).toEqual(events.map((_, i) => i));
  for (const m of log.messages) expect(m.subject).toBe(`audit.${log.sid}.${m.event.event}`);
  expect(new Set(events.map((e) => e.uid)).size).toBe(events.length);
  let previous = since;
  for (const e of events) {
    expect(e).toMatchObject({
      cluster_name: CLUSTER,
      sid: log.sid,
      user: 'alice',
      server_id: hostId,
      'addr.remote': session.addr,
      db_service: 'example',
      db_protocol: 'postgres',
      db_uri: `localhost:${postgres.port}`,
      db_name: 'audited',
      db_user: 'alice',
      db_roles: ['access'],
      db_type: 'self-hosted',
      db_origin: 'config',
    });
    expect(e.sid).toMatch(UUID);
    expect(e.uid).toMatch(UUID);
    expect(e.time).toMatch(RFC3339_MS);
    const at = Date.parse(e.time);
    expect(at).toBeGreaterThanOrEqual(previous);
    expect(at).toBeLessThanOrEqual(Date.now());
    previous = at;
    if (userAgent === undefined) expect(e).not.toHaveProperty('user_agent');
    else expect(e.user_agent).toBe(userAgent);
  }
  const [start, end] = [events[0]!, events[events.length - 1]!];
  expect(start).toMatchObject({ event: 'db.session.start', code: 'TDB00I', success: true });
  expect(end).toMatchObject({ event: 'db.session.end', code: 'TDB01I' });
  expect(end).not.toHaveProperty('success');
  expect(end.session_start).toMatch(RFC3339_MS);
  expect(end.session_stop).toMatch(RFC3339_MS);
  expect(Date.parse(end.session_start)).toBeLessThanOrEqual(Date.parse(start.time));
  expect(Date.parse(end.session_stop)).toBeGreaterThanOrEqual(Date.parse(end.session_start));
  return events;
}

/** Stored in the order they were emitted (stream sequence follows the event index). */
function expectStreamOrder(messages: AuditMessage[]): void {
  expect(messages.map((m) => m.event.ei)).toEqual(messages.map((_, i) => i));
}

const names = (events: Record<string, any>[]) => events.map((e) => [e.event, e.code]);

it('records every simple query once, with its exact text, then its result with the rows the command tag counts', async () => {
  const since = Date.now() - 1;
  const queries = [
    'create table items (id int primary key, name text)',
    "insert into items values (1, 'a'), (2, 'b'), (3, 'c')",
    'update items set name = upper(name) where id < 3',
    'select * from items order by id',
    'delete from items where id = 3',
    "select 'ünïcødé 🍎 日本語' as u,\n       $$multi\n  line$$ as t",
    'select   1   as  spaced   -- a trailing comment',
    'begin',
    'insert into items select g, null from generate_series(10, 14) g',
    'commit',
    'create table copy_of as select * from items',
    'select count(*) from items where id > 1000',
    'drop table copy_of',
  ];
  const session = await connect('audit-simple');
  const tags: { command: string; rowCount: number | null }[] = [];
  for (const q of queries) {
    const r = await session.client.query(q);
    tags.push({ command: r.command, rowCount: r.rowCount });
  }
  await session.client.end();

  const log = await waitForSession(cluster, (s) => s.user_agent === 'audit-simple');
  const events = checkSession(log, session, 'audit-simple', since);
  expectStreamOrder(log.messages);
  expect(names(events)).toEqual([
    ['db.session.start', 'TDB00I'],
    ...queries.flatMap(() => [
      ['db.session.query', 'TDB02I'],
      ['db.session.result', 'TDB10I'],
    ]),
    ['db.session.end', 'TDB01I'],
  ]);
  const pairs = queries.map((_, i) => [events[1 + 2 * i]!, events[2 + 2 * i]!] as const);
  expect(pairs.map(([q]) => q.db_query)).toEqual(queries);
  for (const [q] of pairs) expect(q.success).toBe(true);
  // What the client read from the same CommandComplete tags; tags without a count are 0.
  expect(pairs.map(([, r]) => r.affected_records)).toEqual(tags.map((t) => t.rowCount ?? 0));
  expect(pairs.map(([, r]) => r.affected_records)).toEqual([0, 3, 2, 3, 1, 1, 1, 0, 5, 0, 7, 1, 0]);
  for (const [, r] of pairs) expect(r.success).toBe(true);
});

it('records a failing query with a result that says it failed and why, and a multi-statement query once', async () => {
  const since = Date.now() - 1;
  const session = await connect();
  await expect(session.client.query('select 1 / 0')).rejects.toThrow('division by zero');
  await expect(session.client.query('select * from no_such_table')).rejects.toThrow('relation "no_such_table" does not exist');
  await session.client.query("select 1; select 'two'; create temp table tmp (n int)");
  await session.client.end();

  // The only session without an application_name in this file.
  const log = await waitForSession(cluster, (s) => s.user === 'alice' && s.user_agent === undefined);
  const events = checkSession(log, session, undefined, since);
  expectStreamOrder(log.messages);
  expect(names(events)).toEqual([
    ['db.session.start', 'TDB00I'],
    ['db.session.query', 'TDB02I'],
    ['db.session.result', 'TDB10I'],
    ['db.session.query', 'TDB02I'],
    ['db.session.result', 'TDB10I'],
    ['db.session.query', 'TDB02I'],
    ['db.session.result', 'TDB10I'],
    ['db.session.result', 'TDB10I'],
    ['db.session.result', 'TDB10I'],
    ['db.session.end', 'TDB01I'],
  ]);
  expect(events[1]).toMatchObject({ db_query: 'select 1 / 0', success: true });
  expect(events[2]).toMatchObject({ success: false, error: 'division by zero', affected_records: 0 });
  expect(events[3]).toMatchObject({ db_query: 'select * from no_such_table' });
  expect(events[4]).toMatchObject({ success: false, error: 'relation "no_such_table" does not exist', affected_records: 0 });
  expect(events[5]).toMatchObject({ db_query: "select 1; select 'two'; create temp table tmp (n int)" });
  expect(events.slice(6, 9).map((e) => [e.success, e.affected_records])).toEqual([
    [true, 1],
    [true, 1],
    [true, 0],
  ]);
});

/** Closes a prepared statement and a portal as a client library would: Close, Close, Sync. */
class CloseStatement {
  private settle!: { resolve: () => void; reject: (err: Error) => void };
  readonly done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));

  constructor(
    private readonly statement: string,
    private readonly portal: string,
  ) {}

  submit(connection: { close(msg: { type: string; name: string }): void; sync(): void }): void {
    connection.close({ type: 'S', name: this.statement });
    connection.close({ type: 'P', name: this.portal });
    connection.sync();
  }
  handleReadyForQuery(): void {
    this.settle.resolve();
  }
  handleError(err: Error): void {
    this.settle.reject(err);
  }
}

it('records prepared statements: parse, bind with text and base64 binary parameters, execute, close', async () => {
  const since = Date.now() - 1;
  const session = await connect('audit-prepared');
  const { client } = session;
  const byId = { name: 'by_id', text: 'select $1::int as id, $2::text as t, $3::bytea as b' };
  const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff]);
  expect((await client.query({ ...byId, values: [7, 'héllo 🍎', bytes] })).rows).toEqual([{ id: 7, t: 'héllo 🍎', b: bytes }]);
  expect((await client.query({ ...byId, values: [8, null, null] })).rows).toEqual([{ id: 8, t: null, b: null }]);
  expect((await client.query('select $1::text || $2::text as joined', ['a', 'b'])).rows).toEqual([{ joined: 'ab' }]);
  await client.query('create temp table nums (n int)');
  expect((await client.query('insert into nums select generate_series(1, $1::int)', [4])).rowCount).toBe(4);
  await expect(client.query('select $1::int as n', ['x'])).rejects.toThrow('invalid input syntax for type integer: "x"');
  const close = new CloseStatement('by_id', '');
  client.query(close as unknown as pg.Submittable);
  await close.done;
  await client.end();

  const log = await waitForSession(cluster, (s) => s.user_agent === 'audit-prepared');
  const events = checkSession(log, session, 'audit-prepared', since);
  expectStreamOrder(log.messages);
  const PARSE = ['db.session.postgres.statements.parse', 'TPG00I'];
  const BIND = ['db.session.postgres.statements.bind', 'TPG01I'];
  const EXECUTE = ['db.session.postgres.statements.execute', 'TPG02I'];
  const CLOSE = ['db.session.postgres.statements.close', 'TPG03I'];
  const RESULT = ['db.session.result', 'TDB10I'];
  expect(names(events)).toEqual([
    ['db.session.start', 'TDB00I'],
    ...[PARSE, BIND, EXECUTE, RESULT], // by_id, first time
    ...[BIND, EXECUTE, RESULT], // by_id again: parsed already
    ...[PARSE, BIND, EXECUTE, RESULT], // unnamed
    ['db.session.query', 'TDB02I'],
    RESULT, // create temp table
    ...[PARSE, BIND, EXECUTE, RESULT], // insert
    ...[PARSE, BIND, EXECUTE, RESULT], // fails at bind
    CLOSE,
    CLOSE,
    ['db.session.end', 'TDB01I'],
  ]);
  const fields = (e: Record<string, any>) => {
    const { statement_name, portal_name, query, parameters, affected_records, success, error, db_query } = e;
    return Object.fromEntries(
      Object.entries({ statement_name, portal_name, query, parameters, affected_records, success, error, db_query }).filter(
        ([, v]) => v !== undefined,
      ),
    );
  };
  expect(events.slice(1, -1).map(fields)).toEqual([
    { statement_name: 'by_id', query: byId.text },
    { statement_name: 'by_id', portal_name: '', parameters: ['7', 'héllo 🍎', bytes.toString('base64')] },
    { portal_name: '' },
    { affected_records: 1, success: true },
    { statement_name: 'by_id', portal_name: '', parameters: ['8', null, null] },
    { portal_name: '' },
    { affected_records: 1, success: true },
    { statement_name: '', query: 'select $1::text || $2::text as joined' },
    { statement_name: '', portal_name: '', parameters: ['a', 'b'] },
    { portal_name: '' },
    { affected_records: 1, success: true },
    { db_query: 'create temp table nums (n int)', success: true },
    { affected_records: 0, success: true },
    { statement_name: '', query: 'insert into nums select generate_series(1, $1::int)' },
    { statement_name: '', portal_name: '', parameters: ['4'] },
    { portal_name: '' },
    { affected_records: 4, success: true },
    { statement_name: '', query: 'select $1::int as n' },
    { statement_name: '', portal_name: '', parameters: ['x'] },
    { portal_name: '' },
    { affected_records: 0, success: false, error: 'invalid input syntax for type integer: "x"' },
    { statement_name: 'by_id' },
    { portal_name: '' },
  ]);
  expect(events.find((e) => e.code === 'TPG03I' && 'statement_name' in e)).not.toHaveProperty('portal_name');
});

it('stores a statement too big for one NATS message trimmed to fit, and holds up nothing after it', async () => {
  const since = Date.now() - 1;
  const session = await connect('audit-big');
  const big = 'b'.repeat(3_000_000);
  const longSql = `select length('${'q'.repeat(2_000_000)}') as n`;
  await session.client.query('create temp table big (v text)');
  await session.client.query('insert into big values ($1)', [big]);
  expect((await session.client.query(longSql)).rows).toEqual([{ n: 2_000_000 }]);
  await session.client.query('select 1 as after');
  await session.client.end();

  const log = await waitForSession(cluster, (s) => s.user_agent === 'audit-big');
  const events = checkSession(log, session, 'audit-big', since);
  expectStreamOrder(log.messages);
  expect(names(events).map(([n]) => n)).toEqual([
    'db.session.start',
    ...['db.session.query', 'db.session.result'],
    ...['db.session.postgres.statements.parse', 'db.session.postgres.statements.bind'],
    ...['db.session.postgres.statements.execute', 'db.session.result'],
    ...['db.session.query', 'db.session.result'],
    ...['db.session.query', 'db.session.result'],
    'db.session.end',
  ]);
  // As Teleport trims: the user's input is cut short, everything else is kept.
  const bind = events[4]!;
  expect(bind.parameters).toHaveLength(1);
  expect(bind.parameters[0].length).toBeGreaterThan(100_000);
  expect(bind.parameters[0].length).toBeLessThan(big.length);
  expect(big.startsWith(bind.parameters[0])).toBe(true);
  const query = events[7]!;
  expect(query.db_query.length).toBeGreaterThan(100_000);
  expect(longSql.startsWith(query.db_query)).toBe(true);
  expect(query.db_query.length).toBeLessThan(longSql.length);
  expect(events[8]).toMatchObject({ affected_records: 1, success: true });
  expect(events[9]).toMatchObject({ db_query: 'select 1 as after' });
  for (const m of log.messages) expect(Buffer.byteLength(JSON.stringify(m.event))).toBeLessThanOrEqual(1024 * 1024);
});

it('loses no event and stores none twice when NATS restarts during a session', async () => {
  const since = Date.now() - 1;
  const session = await connect('audit-nats-restart');
  const queries = Array.from({ length: 9 }, (_, i) => `select ${i} as n, 'restart ${i}' as phase`);
  for (const q of queries.slice(0, 3)) await session.client.query(q);
  const restarting = cluster.nats.restart();
  // Statements while NATS is stopping and down, then after it is back (the service reconnects later).
  for (const q of queries.slice(3, 6)) await session.client.query(q);
  await restarting;
  for (const q of queries.slice(6)) await session.client.query(q);
  await session.client.end();

  const log = await waitForSession(cluster, (s) => s.user_agent === 'audit-nats-restart', 60_000);
  // A retry of an event already stored would show up as a second message with the same uid: give it time.
  await new Promise((r) => setTimeout(r, 2_000));
  const again = await waitForSession(cluster, (s) => s.user_agent === 'audit-nats-restart', 10_000);
  expect(again.messages.length).toBe(log.messages.length);
  const events = checkSession(again, session, 'audit-nats-restart', since);
  expect(names(events)).toEqual([
    ['db.session.start', 'TDB00I'],
    ...queries.flatMap(() => [
      ['db.session.query', 'TDB02I'],
      ['db.session.result', 'TDB10I'],
    ]),
    ['db.session.end', 'TDB01I'],
  ]);
  expect(events.filter((e) => e.event === 'db.session.query').map((e) => e.db_query)).toEqual(queries);
  // A session started after the restart is audited too.
  const later = await connect('audit-after-restart');
  await later.client.query('select 42');
  await later.client.end();
  const after = await waitForSession(cluster, (s) => s.user_agent === 'audit-after-restart', 30_000);
  expect(after.messages.map((m) => m.event.db_query).filter(Boolean)).toEqual(['select 42']);
}, 180_000);
