// Slow and idle clients cannot starve the proxy (its descriptor limit at 1,024, as on many hosts):
// connections that have not finished TLS and their StartupMessage or request headers within the
// handshake timeout (5 s by default) are closed, and one source gets only so many pending at a time,
// so users keep getting in with psql and tsh while 2,000 idle connections come from elsewhere.
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import pg from 'pg';
import { serialize } from 'pg-protocol/dist/serializer.js';
import type { PostgresCluster } from '#libs/testing';
import { run, TestCluster } from '../support/cluster.js';
import { loginUser, proxyConnection, startClusterPostgres, startDbService, tempDir, type DbServiceProcess } from '../support/data-plane.js';
import { psql } from '../support/psql.js';

const IDLE_CONNECTIONS = 2_000;
/** Where the idle connections come from: another loopback address than the user's 127.0.0.1. */
const ELSEWHERE = '127.0.0.2';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;
let serviceFile: string;
let host: string;
let port: number;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'slow', maxOpenFiles: 1024 });
  [host, port] = [cluster.proxyAddr.split(':')[0]!, Number(cluster.proxyAddr.split(':')[1])];
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
  serviceFile = join(cluster.dir, 'pg_service.conf');
  const login = await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', 'example'], {
    env: { PGSERVICEFILE: serviceFile },
  });
  if (login.code !== 0) throw new Error(login.stderr);
  await cluster.createUser('bob', 'bob-password-123');
});
afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

/** A connection that says nothing: when it opened and when it saw its close (ms since the epoch). */
interface Idle {
  socket: Socket;
  opened: number;
  closed: Promise<number>;
}

function idleConnection(localAddress: string): Promise<Idle> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port, localAddress });
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, opened: Date.now(), closed }));
    socket.once('close', () => reject(new Error('closed before it connected')));
  });
}

/** Resolves with the ms from now until the socket closes, or rejects after `limitMs`. */
function closesWithin(socket: Socket, limitMs: number): Promise<number> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${limitMs} ms`)), limitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - start);
    });
  });
}

function userTls(): { ca: string; cert: string; key: string } {
  return proxyConnection(serviceFile, 'slow-example').ssl as { ca: string; cert: string; key: string };
}

function secured(socket: TLSSocket): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('pending connections at the public port', () => {
  it('runs teleport start with the descriptor limit of the issue', () => {
    expect(readFileSync(`/proc/${cluster.pid()}/limits`, 'utf8')).toMatch(/^Max open files\s+1024\s+1024\s/m);
  });

  it(`closes ${IDLE_CONNECTIONS} connections that send nothing within 10 s, while a user logs in and queries`, async () => {
    const session = new pg.Client(proxyConnection(serviceFile, 'slow-example'));
    session.on('error', () => undefined);
    // Idle connections keep coming, in batches below the listen backlog (a connection the kernel
    // completed with a SYN cookie while the accept queue was full never reaches the proxy, and would
    // never see a close), until the user is done and there have been at least 2,000.
    const idle: Idle[] = [];
    let userDone: number | undefined;
    let stop = false;
    const flood = (async () => {
      while (!stop && (userDone === undefined || idle.length < IDLE_CONNECTIONS)) {
        idle.push(...(await Promise.all(Array.from({ length: 100 }, () => idleConnection(ELSEWHERE)))));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    flood.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
    try {
      while (idle.length < 500) await Promise.race([flood, new Promise((r) => setTimeout(r, 50))]);
      // Meanwhile, from 127.0.0.1: bob runs tsh login, alice psql through the proxy; a session stays open past the deadline.
      const [login, query] = await Promise.all([
        run('tsh', ['login', '--insecure', `--proxy=${cluster.proxyAddr}`, '--user=bob'], {
          input: 'bob-password-123\n',
          env: { TELEPORT_HOME: tempDir(cluster, 'bob-') },
        }),
        psql(['-X', '-A', '-t', '-c', 'select 40 + 2', 'service=slow-example'], { env: { PGSERVICEFILE: serviceFile } }),
      ]);
      expect(login.stderr).toBe('');
      expect(login.code).toBe(0);
      expect(query).toMatchObject({ code: 0, stdout: '42\n' });
      await session.connect();
      userDone = Date.now();
      await flood;
    } finally {
      stop = true;
    }

    const closed = await Promise.all(
      idle.map((c) => Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(Number.NaN), 15_000))])),
    );
    const lifetimes = closed.map((at, i) => at - idle[i]!.opened);
    expect(lifetimes.filter((ms) => !(ms < 10_000))).toEqual([]);
    // The user was served while a source's worth of them was pending.
    const pendingWhenServed = idle.filter((c, i) => c.opened < userDone! && closed[i]! > userDone!).length;
    expect(pendingWhenServed).toBeGreaterThanOrEqual(100);

    // Established: the handshake deadline does not apply to it.
    await new Promise((r) => setTimeout(r, 6_000 - (Date.now() - userDone!)));
    expect((await session.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
    await session.end();
  }, 60_000);

  it('closes a Postgres client that finishes TLS after SSLRequest but never sends its StartupMessage', async () => {
    const raw = tcpConnect({ host, port });
    await new Promise((r) => raw.once('connect', r));
    raw.write(serialize.requestSsl());
    await new Promise((r) => raw.once('data', r));
    const socket = await secured(tlsConnect({ socket: raw, ...userTls(), servername: 'localhost' }));
    socket.on('error', () => undefined);
    const ms = await closesWithin(socket, 10_000);
    expect(ms).toBeGreaterThan(3_000);
  });

  it('closes a client that speaks TLS with ALPN postgresql at once but never sends its StartupMessage', async () => {
    const socket = await secured(tlsConnect({ host, port, ...userTls(), servername: 'localhost', ALPNProtocols: ['postgresql'] }));
    socket.on('error', () => undefined);
    expect(socket.alpnProtocol).toBe('postgresql');
    expect(await closesWithin(socket, 10_000)).toBeGreaterThan(3_000);
  });

  it('closes an HTTPS client that finishes TLS but sends no request, and one that sends its headers a line a second', async () => {
    const silent = await secured(tlsConnect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }));
    const trickling = await secured(tlsConnect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }));
    for (const s of [silent, trickling]) s.on('error', () => undefined);
    trickling.write('GET /v1/webapi/ping HTTP/1.1\r\nHost: localhost\r\n');
    const trickle = setInterval(() => trickling.write(`X-Slow-${Date.now()}: 1\r\n`), 1_000);
    try {
      const [a, b] = await Promise.all([closesWithin(silent, 10_000), closesWithin(trickling, 10_000)]);
      expect(a).toBeGreaterThan(3_000);
      expect(b).toBeGreaterThan(3_000);
    } finally {
      clearInterval(trickle);
    }
  });

  it('gives the next request on a kept-alive HTTPS connection no longer for its headers', async () => {
    const socket = await secured(tlsConnect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }));
    socket.on('error', () => undefined);
    let replies = '';
    socket.on('data', (d: Buffer) => (replies += d.toString()));
    socket.write('GET /v1/webapi/ping HTTP/1.1\r\nHost: localhost\r\n\r\n');
    while (!replies.includes('\r\n\r\n')) await new Promise((r) => setTimeout(r, 20));
    expect(replies).toMatch(/^HTTP\/1\.1 200/);
    socket.write('GET /v1/webapi/ping HTTP/1.1\r\nHost: localhost\r\n');
    const trickle = setInterval(() => socket.write(`X-Slow-${Date.now()}: 1\r\n`), 1_000);
    try {
      expect(await closesWithin(socket, 10_000)).toBeGreaterThan(3_000);
      expect(replies).toContain('HTTP/1.1 408 Request Timeout');
    } finally {
      clearInterval(trickle);
    }
  });
});
