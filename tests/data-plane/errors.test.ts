// What a client sees when a session cannot start: always one FATAL ErrorResponse saying why, never a
// connection closed without a word. Also how soon a stopped Database Service's databases leave
// `tsh db ls`: at once after SIGTERM (it unregisters), within the registration TTL (30s) after SIGKILL.
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { inspectCert, parseIdentityFile } from '#libs/pki';
import type { PostgresCluster } from '#libs/testing';
import { TestCluster, run, type RunResult } from '../support/cluster.js';
import { readStream } from '../support/cluster-stream.js';
import { loginUser, proxyConnection, startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';
import { expectCliError, expectOk, openssl } from '../support/elsewhere.js';
import { connectFailure, queryOnce } from '../support/pg-client.js';

const CLUSTER = 'errors';

let cluster: TestCluster;
let postgres: PostgresCluster;
let example: DbServiceProcess;
let home: string;
let serviceFile: string;
let proxyPort: number;
let hostCa: string;

/** tsh as alice (the cluster's TELEPORT_HOME), with her HOME and service file. */
function tsh(args: string[]): Promise<RunResult> {
  return cluster.tsh(args, { env: { HOME: home, PGSERVICEFILE: serviceFile } });
}

/** node-postgres settings through the proxy with what `tsh db login <db>` saved. */
function viaProxy(db: string, file = serviceFile): pg.ClientConfig {
  return proxyConnection(file, `${CLUSTER}-${db}`);
}

/** The AUDIT stream's events, parsed. */
async function auditEvents(): Promise<Record<string, unknown>[]> {
  return (await readStream(cluster, 'AUDIT')).map((m) => JSON.parse(m.body) as Record<string, unknown>);
}

/** Polls the AUDIT stream until `count` events match (they are stored asynchronously); bounded. */
async function auditUntil(match: (e: Record<string, unknown>) => boolean, count: number): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events = (await auditEvents()).filter(match);
    if (events.length >= count || Date.now() > deadline) return events;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls `tsh db ls` until `db` is listed (or no longer listed); resolves to the milliseconds it took. */
async function untilListed(db: string, listed: boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const names = (JSON.parse(expectOk(await tsh(['db', 'ls', '--format=json']))) as { name: string }[]).map((d) => d.name);
    if (names.includes(db) === listed) return Date.now() - start;
    if (Date.now() - start > timeoutMs)
      throw new Error(`${db} still ${listed ? 'not ' : ''}listed after ${timeoutMs}ms: ${names.join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  proxyPort = Number(cluster.proxyAddr.split(':')[1]);
  home = mkdtempSync(join(cluster.dir, 'home-'));
  serviceFile = join(home, 'pg_service.conf');
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  example = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}`, labels: 'env=dev' });
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=postgres']);
  expectOk(await tsh(['db', 'login', 'example']));
  hostCa = expectOk(await cluster.tctl(['auth', 'export', '--type=host']));
  await expect(queryOnce(viaProxy('example'), 'select current_user')).resolves.toEqual([{ current_user: 'alice' }]);
});
afterAll(async () => {
  await example?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

describe('databases that are not there', () => {
  it('tsh db login of a database that was never created: database "x" not found', async () => {
    expectCliError(await tsh(['db', 'login', 'x']), 'database "x" not found');
  });

  it('a database registered by a Database Service stopped with SIGTERM leaves tsh db ls at once; its certificate gets FATAL', async () => {
    const gone = await startDbService(cluster, { name: 'gone', uri: `localhost:${postgres.port}`, labels: 'env=dev' });
    await untilListed('gone', true, 10_000);
    expectOk(await tsh(['db', 'login', 'gone']));
    await expect(queryOnce(viaProxy('gone'), 'select 1 as one')).resolves.toEqual([{ one: 1 }]);

    await gone.stop('SIGTERM');
    expect({ code: gone.process.exitCode, signal: gone.process.signalCode }).toEqual({ code: 0, signal: null });
    // It unregistered before exiting: gone well before the registration TTL (20 to 30s) could end it.
    expect(await untilListed('gone', false, 5_000)).toBeLessThan(5_000);
    // No registration and no dynamic resource: the cluster knows no such database any more.
    expect(await connectFailure(viaProxy('gone'))).toEqual({ severity: 'FATAL', code: '3D000', message: 'database "gone" not found' });
  });

  it('a dynamic database (tctl create) that no Database Service serves: FATAL, not served by any running Database Service', async () => {
    expectOk(
      await cluster.tctl(['create'], {
        input: `kind: db\nversion: v3\nmetadata: {name: orphan, labels: {env: dev}}\nspec: {protocol: postgres, uri: 'localhost:${postgres.port}'}\n`,
      }),
    );
    expectOk(await tsh(['db', 'login', 'orphan']));
    expect(await connectFailure(viaProxy('orphan'))).toEqual({
      severity: 'FATAL',
      code: '08006',
      message: `database "orphan" is not served by any running Database Service; start one with 'teleport db start'`,
    });
  });
});

describe('a Database Service killed with SIGKILL (it cannot unregister)', () => {
  it('sessions to its database get FATAL while its registration lives; the database leaves tsh db ls within 35s', async () => {
    const killed = await startDbService(cluster, { name: 'killed', uri: `localhost:${postgres.port}`, labels: 'env=dev' });
    const hostId = /Database Service ([0-9a-f-]{36}) serving killed/.exec(killed.logs())?.[1];
    expect(hostId).toBeDefined();
    await untilListed('killed', true, 10_000);
    expectOk(await tsh(['db', 'login', 'killed']));
    await expect(queryOnce(viaProxy('killed'), 'select 2 as two')).resolves.toEqual([{ two: 2 }]);

    const killedAt = Date.now();
    await killed.stop('SIGKILL');
    expect(killed.process.signalCode).toBe('SIGKILL');
    expect(await connectFailure(viaProxy('killed'))).toEqual({
      severity: 'FATAL',
      code: '08006',
      message: `the Database Service serving this database (${hostId}) is not connected to this proxy: it may have stopped, or cannot reach this proxy's address`,
    });
    await untilListed('killed', false, 40_000);
    expect(Date.now() - killedAt).toBeLessThanOrEqual(35_000);
    expect(await connectFailure(viaProxy('killed'))).toEqual({ severity: 'FATAL', code: '3D000', message: 'database "killed" not found' });
  }, 90_000);
});

describe('the TLS handshake and the client certificate', () => {
  it('a plain StartupMessage (no SSLRequest): FATAL, TLS is required', async () => {
    expect(await connectFailure({ host: '127.0.0.1', port: proxyPort, user: 'alice', database: 'postgres', ssl: false })).toEqual({
      severity: 'FATAL',
      code: '28000',
      message:
        "this proxy accepts TLS only: connect with sslmode=verify-full and the certificate from 'tsh db login', or through 'tsh proxy db'",
    });
  });

  it('TLS without a client certificate: FATAL 28000, a client certificate is required', async () => {
    expect(await connectFailure({ host: '127.0.0.1', port: proxyPort, user: 'alice', database: 'postgres', ssl: { ca: hostCa } })).toEqual({
      severity: 'FATAL',
      code: '28000',
      message: "a client certificate is required: run 'tsh db login <database>' and connect with the settings it saves",
    });
  });

  it('the login certificate, which names no database: FATAL 28000, run tsh db login', async () => {
    const file = join(cluster.dir, 'alice-login.pem');
    expectOk(await cluster.tctl(['auth', 'sign', '--user=alice', '--format=file', `--out=${file}`, '--ttl=1h']));
    const id = parseIdentityFile(readFileSync(file, 'utf8'));
    const ssl = { ca: hostCa, cert: id.certPem, key: id.privateKeyPem };
    expect(await connectFailure({ host: '127.0.0.1', port: proxyPort, user: 'alice', database: 'postgres', ssl })).toEqual({
      severity: 'FATAL',
      code: '28000',
      message: "the certificate names no database: run 'tsh db login <database>' first",
    });
  });

  it.each([
    ['the admin identity (host CA)', 'host'],
    ['a self-signed RSA certificate (no CA of this cluster)', 'rsa'],
    ['a self-signed ECDSA certificate (no CA of this cluster)', 'ec'],
  ])('%s: FATAL 28000, not a user certificate of this cluster', async (_what, kind) => {
    let ssl: { ca: string; cert: string; key: string };
    if (kind === 'host') {
      const admin = parseIdentityFile(readFileSync(join(cluster.dataDir, 'admin-identity.pem'), 'utf8'));
      ssl = { ca: hostCa, cert: admin.certPem, key: admin.privateKeyPem };
    } else {
      const dir = mkdtempSync(join(cluster.dir, 'foreign-'));
      const newkey = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
      await openssl(
        ['req', '-x509', ...newkey, '-nodes', '-subj', '/CN=alice', '-days', '1', '-keyout', 'key.pem', '-out', 'cert.pem'],
        dir,
      );
      ssl = { ca: hostCa, cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
    }
    expect(await connectFailure({ host: '127.0.0.1', port: proxyPort, user: 'alice', database: 'postgres', ssl })).toEqual({
      severity: 'FATAL',
      code: '28000',
      message: 'the client certificate is not a user certificate of this cluster',
    });
  });
});

describe("PostgreSQL's own refusals, after Teleport allowed the session", () => {
  it('a db user or a database PostgreSQL does not have: its FATAL ErrorResponse, passed on', async () => {
    await cluster.createUser('carol', 'carol-password-123', ['--roles=access', '--db-users=*', '--db-names=*']);
    const identity = join(cluster.dir, 'carol.pem');
    expectOk(await cluster.tctl(['auth', 'sign', '--user=carol', '--format=file', `--out=${identity}`, '--ttl=1h']));
    const carolHome = mkdtempSync(join(cluster.dir, 'carol-'));
    const carolServices = join(carolHome, 'pg_service.conf');
    expectOk(
      await run('tsh', ['-i', identity, `--proxy=${cluster.proxyAddr}`, 'db', 'login', 'example'], {
        env: { TELEPORT_HOME: join(carolHome, 'tsh'), HOME: carolHome, PGSERVICEFILE: carolServices },
      }),
    );
    const as = (user: string, database: string) => ({ ...viaProxy('example', carolServices), user, database });
    expect(await connectFailure(as('ghost', 'postgres'))).toEqual({
      severity: 'FATAL',
      code: '28000',
      message: 'role "ghost" does not exist',
    });
    expect(await connectFailure(as('alice', 'nosuchdb'))).toEqual({
      severity: 'FATAL',
      code: '3D000',
      message: 'database "nosuchdb" does not exist',
    });
    await expect(queryOnce(as('alice', 'postgres'), 'select current_user')).resolves.toEqual([{ current_user: 'alice' }]);
    // Each refused start is audited with what PostgreSQL said.
    expect(
      (await auditUntil((e) => e.event === 'db.session.start' && e.user === 'carol', 3)).map((e) => [
        e.code,
        e.db_user,
        e.db_name,
        e.success,
        e.error ?? null,
      ]),
    ).toEqual([
      ['TDB00W', 'ghost', 'postgres', false, 'role "ghost" does not exist'],
      ['TDB00W', 'alice', 'nosuchdb', false, 'database "nosuchdb" does not exist'],
      ['TDB00I', 'alice', 'postgres', true, null],
    ]);
  });
});

describe('an expired certificate', () => {
  const TTL_S = 15;

  it('ends an open session with FATAL 57P01 when it expires, and refuses new ones with FATAL 28000 naming tsh login', async () => {
    const identity = join(cluster.dir, 'alice-short.pem');
    expectOk(await cluster.tctl(['auth', 'sign', '--user=alice', '--format=file', `--out=${identity}`, `--ttl=${TTL_S}s`]));
    const expires = inspectCert(parseIdentityFile(readFileSync(identity, 'utf8')).certPem).notAfter;
    const shortHome = mkdtempSync(join(cluster.dir, 'short-'));
    const shortServices = join(shortHome, 'pg_service.conf');
    const login = await run('tsh', ['-i', identity, `--proxy=${cluster.proxyAddr}`, 'db', 'login', 'example'], {
      env: { TELEPORT_HOME: join(shortHome, 'tsh'), HOME: shortHome, PGSERVICEFILE: shortServices },
    });
    expectOk(login);

    // A session opened before expiry is told why it ends.
    const client = new pg.Client({ ...viaProxy('example', shortServices), connectionTimeoutMillis: 20_000 });
    const ended = new Promise<Error & { severity?: string; code?: string }>((resolve) => client.once('error', resolve));
    await client.connect();
    expect((await client.query('select current_user')).rows).toEqual([{ current_user: 'alice' }]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the session was still open ${TTL_S + 10}s after its certificate was issued`)),
        (TTL_S + 10) * 1000,
      );
    });
    const err = await Promise.race([ended, timeout]).finally(() => clearTimeout(timer));
    expect(Date.now()).toBeGreaterThanOrEqual(expires.getTime() - 2_000);
    expect({ severity: err.severity, code: err.code, message: err.message }).toEqual({
      severity: 'FATAL',
      code: '57P01',
      message: "your certificate has expired: run 'tsh login' and connect again",
    });
    await client.end().catch(() => undefined);

    // A new session with the expired certificate is refused at the proxy.
    expect(await connectFailure(viaProxy('example', shortServices))).toEqual({
      severity: 'FATAL',
      code: '28000',
      message: "your certificate has expired: run 'tsh login' and 'tsh db login <database>' again",
    });
  }, 60_000);
});

describe('a database that is down', () => {
  it('PostgreSQL stopped: FATAL naming the host and port the Database Service could not reach, and a TDB00W event', async () => {
    await postgres.stop();
    const failure = await connectFailure(viaProxy('example'));
    expect(failure).toEqual({
      severity: 'FATAL',
      code: '08006',
      message: `cannot reach the database at localhost:${postgres.port} (ECONNREFUSED); is it running?`,
    });
    const events = await auditUntil((e) => e.event === 'db.session.start' && e.code === 'TDB00W' && e.user === 'alice', 1);
    expect(events.map((e) => [e.user, e.db_user, e.db_name, e.success, e.error, e.message])).toEqual([
      ['alice', 'alice', 'postgres', false, failure.message, failure.message],
    ]);
  });
});
