import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { serialize } from 'pg-protocol/dist/serializer.js';
import { createCa, generateKeyPair, signUserCert } from '#libs/pki';
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import { startRogueProxy, type RogueProxy } from '../support/rogue-proxy.js';
import { loginUser, proxyConnection, startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;
let serviceFile: string;
let witness: pg.Client;
let host: string;
let port: number;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'hostile' });
  [host, port] = [cluster.proxyAddr.split(':')[0]!, Number(cluster.proxyAddr.split(':')[1])];
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
  await startDbService(cluster, { name: 'other', uri: `localhost:${postgres.port}` }).then((s) => (otherService = s));
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
  serviceFile = join(cluster.dir, 'pg_service.conf');
  const login = await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', 'example'], {
    env: { PGSERVICEFILE: serviceFile },
  });
  if (login.code !== 0) throw new Error(login.stderr);
  // A session that stays open throughout: hostile input elsewhere must not disturb it.
  witness = new pg.Client(proxyConnection(serviceFile, 'hostile-example'));
  await witness.connect();
});
let otherService: DbServiceProcess | undefined;
afterAll(async () => {
  await witness?.end();
  await otherService?.stop();
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

/** Sends bytes on a plain connection (then ends it, unless `keepOpen`) and resolves with the reply once closed. */
function sendRaw(bytes: Buffer, { keepOpen = true, waitMs = 2000 } = {}): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = tcpConnect({ host, port }, () => (keepOpen ? socket.write(bytes) : socket.end(bytes)));
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** SSLRequest, TLS with the files tsh db login saved, StartupMessage, then ReadyForQuery: an authenticated session. */
async function authenticatedSocket(cert?: { cert: string; key: string }): Promise<TLSSocket> {
  const cfg = proxyConnection(serviceFile, 'hostile-example');
  const ssl = cfg.ssl as { ca: string; cert: string; key: string };
  const raw = tcpConnect({ host, port });
  await new Promise((r) => raw.once('connect', r));
  raw.write(serialize.requestSsl());
  await new Promise((r) => raw.once('data', r));
  const socket = tlsConnect({ socket: raw, ca: ssl.ca, cert: cert?.cert ?? ssl.cert, key: cert?.key ?? ssl.key, servername: 'localhost' });
  await new Promise((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  socket.write(serialize.startup({ user: 'alice', database: 'postgres' }));
  return socket;
}

function readUntil(socket: TLSSocket, done: (all: Buffer) => boolean, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve) => {
    let all = Buffer.alloc(0);
    const finish = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(all);
    };
    const onData = (d: Buffer) => {
      all = Buffer.concat([all, d]);
      if (done(all)) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', onData);
    socket.once('close', finish);
    socket.on('error', () => undefined);
  });
}

/** ReadyForQuery 'I': Z, int32 5, 'I'. */
const readyForQuery = (b: Buffer) => b.includes(Buffer.from([0x5a, 0, 0, 0, 5]));
const errorText = (b: Buffer) => b.toString('latin1');

async function stillServing(): Promise<void> {
  const { rows } = await witness.query('select 1 as ok');
  expect(rows).toEqual([{ ok: 1 }]);
  const fresh = new pg.Client(proxyConnection(serviceFile, 'hostile-example'));
  await fresh.connect();
  await fresh.end();
}

describe('hostile input', () => {
  it('refuses a StartupMessage before TLS with an error, not a silent close', async () => {
    const reply = await sendRaw(serialize.startup({ user: 'alice', database: 'postgres' }));
    expect(reply[0]).toBe(0x45); // ErrorResponse
    expect(errorText(reply)).toContain('this proxy accepts TLS only');
  });

  it('survives thousands of random byte strings at the public port', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), async (bytes) => {
        await sendRaw(Buffer.from(bytes), { keepOpen: false, waitMs: 100 });
      }),
      { numRuns: 1500 },
    );
    await stillServing();
  }, 300_000);

  it('refuses a length prefix of 2 GB inside a session and keeps serving', async () => {
    const socket = await authenticatedSocket();
    await readUntil(socket, readyForQuery);
    const frame = Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff, 0x73]); // Query, length 2^31-1, then one byte
    socket.write(frame);
    const reply = await readUntil(socket, (b) => b.includes(Buffer.from('exceeds the limit')));
    expect(errorText(reply)).toMatch(/message of 2147483643 bytes exceeds the limit of \d+ bytes/);
    socket.destroy();
    await stillServing();
  });

  it('closes sessions that send random frames, cleanly, and stays up', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 256 }), async (bytes) => {
        const socket = await authenticatedSocket();
        await readUntil(socket, readyForQuery);
        socket.write(Buffer.from(bytes));
        // Truncated frames wait for more bytes; everything else ends in an error or a close.
        await readUntil(socket, () => false, 300);
        socket.destroy();
      }),
      { numRuns: 300 },
    );
    await stillServing();
  }, 600_000);

  it('refuses a client certificate from another CA', async () => {
    const foreign = await createCa('user', 'elsewhere');
    const keys = await generateKeyPair();
    const cert = signUserCert(
      foreign,
      keys.publicKeyPem,
      {
        username: 'alice',
        roles: ['access'],
        traits: { db_users: ['alice'], db_names: ['*'] },
        dbRoute: { serviceName: 'example', protocol: 'postgres' },
      },
      3_600_000,
    );
    const socket = await authenticatedSocket({ cert, key: keys.privateKeyPem });
    const reply = await readUntil(socket, (b) => b.length > 0);
    expect(errorText(reply)).toContain('the client certificate is not a user certificate of this cluster');
    socket.destroy();
    await stillServing();
  });

  it('routes by the certificate: a startup database name cannot reach another database service', async () => {
    // alice's certificate names "example"; asking for "other" in the StartupMessage only names a
    // database inside example's server, which has none by that name.
    const client = new pg.Client(proxyConnection(serviceFile, 'hostile-example', { database: 'other' }));
    await expect(client.connect()).rejects.toMatchObject({ code: '3D000', message: 'database "other" does not exist' });
    await stillServing();
  });
});

describe("the Database Service's session streams", () => {
  let proxy: RogueProxy;

  // A proxy of the cluster (its credentials and certificate), writing what it likes on a tunnel.
  beforeAll(async () => {
    proxy = await startRogueProxy(cluster);
  });
  afterAll(() => proxy?.stop());

  /** A tunnel the Database Service opened, that gets `bytes` and then nothing: how long until the service closes it. */
  async function streamClosedAfter(bytes: Buffer): Promise<number> {
    const socket = await proxy.tunnel();
    const start = Date.now();
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - start)));
    socket.write(bytes);
    const timer = setTimeout(() => socket.destroy(), 15_000);
    const ms = await closed;
    clearTimeout(timer);
    return ms;
  }

  const length = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);

  /** Both Database Services of the cluster dial the rogue proxy: the tunnel it hands out may be either's. */
  async function logged(text: string): Promise<void> {
    const logs = () => service.logs() + (otherService?.logs() ?? '');
    const deadline = Date.now() + 5_000;
    while (!logs().includes(text)) {
      if (Date.now() > deadline) throw new Error(`neither Database Service logged ${JSON.stringify(text)}:\n${logs()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('ends a stream whose header is not JSON, saying why, and serves other sessions', async () => {
    expect(await streamClosedAfter(Buffer.concat([length(10), Buffer.from('not json!!')]))).toBeLessThan(2_000);
    await logged('session stream refused: the session header of 10 bytes is not JSON');
    expect([service.process.exitCode, otherService?.process.exitCode]).toEqual([null, null]);
    await stillServing();
  });

  it('ends a stream whose header is valid JSON of another shape', async () => {
    const json = JSON.stringify({ sid: 'x', user: 'alice' });
    expect(await streamClosedAfter(Buffer.concat([length(json.length), Buffer.from(json)]))).toBeLessThan(2_000);
    await logged('session stream refused: malformed session header: ');
    await stillServing();
  });

  it('closes a stream whose header stops halfway after the header timeout', async () => {
    const ms = await streamClosedAfter(Buffer.concat([length(100), Buffer.from('{"sid":"12')]));
    expect(ms).toBeGreaterThan(4_000);
    expect(ms).toBeLessThan(8_000);
    await logged('session stream refused: no complete session header within 5s');
    await stillServing();
  });

  it('refuses an oversized header length at once', async () => {
    expect(await streamClosedAfter(length(0xffffffff))).toBeLessThan(2_000);
    await logged('session stream refused: a session header of 4294967295 bytes exceeds the limit of 65536');
    await stillServing();
  });
});
