// The test harness against real processes: nats-server with JetStream, and PostgreSQL configured
// as the Teleport guide says (ssl = on, hostssl ... cert). The CA here is a throwaway made with the
// openssl CLI; the product signs with tctl.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { acceptsTcp, startNats, startPostgres, type NatsServer, type PostgresCluster, type PostgresTls } from '#libs/testing';

const run = promisify(execFile);
// Starting servers takes seconds on a 2-core machine shared by several Jest workers.
const TIMEOUT_MS = 120_000;

interface TestPki {
  dir: string;
  server: PostgresTls;
  ca: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server cert for 127.0.0.1 and a client cert with CN=postgres, made with openssl. */
async function makePki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'dbaccess-harness-pki-'));
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=harness-test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  const issue = async (name: string, cn: string, ext: string) => {
    await writeFile(join(dir, `${name}.ext`), ext);
    await openssl('req', '-new', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    await openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
    );
  };
  await issue('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await issue('client', 'postgres', 'extendedKeyUsage=clientAuth\n');
  // server.cas: the CA that signs database clients' certificates, as tctl auth sign writes it
  await writeFile(join(dir, 'server.cas'), await readFile(join(dir, 'ca.crt')));
  return {
    dir,
    server: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), caFile: join(dir, 'server.cas') },
    ca: await readFile(join(dir, 'ca.crt'), 'utf8'),
    clientCert: await readFile(join(dir, 'client.crt'), 'utf8'),
    clientKey: await readFile(join(dir, 'client.key'), 'utf8'),
  };
}

/** Command lines of running processes that mention `path`. */
async function processesMentioning(path: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,args=']);
  return stdout.split('\n').filter((line) => line.includes(path));
}

async function selectOne(cluster: PostgresCluster, ssl: pg.ClientConfig['ssl']): Promise<unknown> {
  const client = new pg.Client({
    host: cluster.host,
    port: cluster.port,
    user: 'postgres',
    database: 'postgres',
    ssl,
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  try {
    const result = await client.query<{ one: number }>('select 1 as one');
    return result.rows[0]?.one;
  } finally {
    await client.end();
  }
}

async function expectStopped(port: number, dir: string): Promise<void> {
  expect(await processesMentioning(dir)).toEqual([]);
  expect(await acceptsTcp(port)).toBe(false);
  expect(existsSync(dir)).toBe(false);
}

describe('nats-server harness', () => {
  let nats: NatsServer | undefined;
  afterAll(() => nats?.stop(), TIMEOUT_MS);

  it(
    'publishes and receives, keeps JetStream data across restart, and stops',
    async () => {
      nats = await startNats();
      expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
      expect(nats.port).not.toBe(4222);

      const nc = await connect({ servers: nats.url });
      const sub = nc.subscribe('harness.ping', { max: 1 });
      nc.publish('harness.ping', 'hello');
      const received: string[] = [];
      for await (const msg of sub) received.push(msg.string());
      expect(received).toEqual(['hello']);

      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'HARNESS', subjects: ['harness.events.>'] });
      const js = jetstream(nc);
      for (const n of [1, 2, 3]) await js.publish('harness.events.n', `m${n}`);
      await nc.close();

      const { port, storeDir } = nats;
      await nats.restart();
      expect(nats.port).toBe(port);
      expect(nats.storeDir).toBe(storeDir);

      const nc2 = await connect({ servers: nats.url });
      const jsm2 = await jetstreamManager(nc2);
      expect((await jsm2.streams.info('HARNESS')).state.messages).toBe(3);
      expect((await jsm2.streams.getMessage('HARNESS', { seq: 2 }))?.string()).toBe('m2');
      await nc2.close();

      await nats.stop();
      await expectStopped(port, storeDir);
    },
    TIMEOUT_MS,
  );
});

describe('postgres harness', () => {
  let pki: TestPki;
  const clusters: PostgresCluster[] = [];
  beforeAll(async () => {
    pki = await makePki();
  }, TIMEOUT_MS);
  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
    if (pki) await rm(pki.dir, { recursive: true, force: true });
  }, TIMEOUT_MS);

  it(
    'runs two TLS clusters at once that accept only client certificates, and stops them',
    async () => {
      const started = await Promise.all([startPostgres({ tls: pki.server }), startPostgres({ tls: pki.server })]);
      clusters.push(...started);
      const [a, b] = started as [PostgresCluster, PostgresCluster];
      expect(a.port).not.toBe(b.port);
      expect(a.dataDir).not.toBe(b.dataDir);
      for (const c of [a, b]) expect(c.port).not.toBe(5432);

      const withCert = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey };
      await expect(Promise.all([selectOne(a, withCert), selectOne(b, withCert)])).resolves.toEqual([1, 1]);
      await expect(selectOne(a, { ca: pki.ca })).rejects.toThrow(/certificate|pg_hba/);
      await expect(selectOne(a, false)).rejects.toThrow(/pg_hba/);

      expect(await a.psql('select 1')).toBe('1\n');
      expect(await a.psql('show ssl; show max_connections;')).toBe('on\n200\n');
      await a.psql('create database only_in_a');
      await a.psql('create table t (x int); insert into t values (42);', { database: 'only_in_a' });
      expect(await a.psql('select x from t', { database: 'only_in_a' })).toBe('42\n');
      await expect(b.psql('select 1', { database: 'only_in_a' })).rejects.toThrow(/only_in_a.*does not exist/);
      await expect(a.psql('select * from missing_table')).rejects.toThrow(/missing_table/);

      const stopped = started.map((c) => ({ port: c.port, dir: c.dataDir }));
      await Promise.all(started.map((c) => c.stop()));
      for (const { port, dir } of stopped) await expectStopped(port, dir);
    },
    TIMEOUT_MS,
  );

  it(
    'applies extraConf',
    async () => {
      const cluster = await startPostgres({ tls: pki.server, extraConf: "work_mem = '7MB'" });
      clusters.push(cluster);
      expect(await cluster.psql('show work_mem')).toBe('7MB\n');
    },
    TIMEOUT_MS,
  );
});
