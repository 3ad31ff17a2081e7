// The bus is a trust boundary (docs/security.md): nobody connects without the cluster's credentials,
// each process may publish and subscribe only what its job needs, a request is decided on the sender's
// real identity, and a Database Service serves only what the broker confirms, whoever hands it a session.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { busIdentity, BusRole, connectNats, RpcClient } from '#libs/bus';
import { Buckets, DataPlane, Rpc, type SignedCert } from '#libs/events';
import { freePort, type PostgresCluster } from '#libs/testing';
import { generateKeyPair, parseHostIdentity } from '#libs/pki';
import { readAudit } from '../support/audit-log.js';
import { busClient, dbServiceCredentials } from '../support/bus.js';
import { startRogueProxy, type RogueProxy } from '../support/rogue-proxy.js';
import { BIN, stopChild, TestCluster } from '../support/cluster.js';
import { loginUser, proxyConnection, startClusterPostgres, startDbService, tempDir, type DbServiceProcess } from '../support/data-plane.js';
import { queryOnce } from '../support/pg-client.js';
import { dialedConnections, until } from '../support/processes.js';

const CLUSTER = 'bus-cluster';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;
let dbHostId: string;
let serviceFile: string;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` });
  dbHostId = readFileSync(join(service.dataDir, 'host_uuid'), 'utf8').trim();
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
  serviceFile = join(tempDir(cluster, 'home-'), 'pg_service.conf');
  const login = await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', 'example'], {
    env: { PGSERVICEFILE: serviceFile },
  });
  if (login.code !== 0) throw new Error(login.stderr);
}, 180_000);

afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

const aliceDbCert = () => proxyConnection(serviceFile, `${CLUSTER}-example`).ssl as { cert: string };

/** A session through the proxy runs and is audited: the Database Service's normal work. */
async function sessionWorks(marker: string): Promise<void> {
  const rows = await queryOnce<{ marker: string }>(proxyConnection(serviceFile, `${CLUSTER}-example`), `select '${marker}' as marker`);
  expect(rows).toEqual([{ marker }]);
  await eventually(async () =>
    expect((await readAudit(cluster)).some((m) => m.event.event === 'db.session.query' && String(m.event.db_query).includes(marker))).toBe(
      true,
    ),
  );
}

async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** What the server says when a subscription is not allowed: the subscription ends with the violation. */
async function subscriptionError(nc: NatsConnection, subject: string): Promise<string> {
  const sub = nc.subscribe(subject);
  try {
    for await (const _ of sub) return 'a message was delivered';
    return 'the subscription ended without an error';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('no credentials, no bus', () => {
  it('refuses a client without credentials on the external NATS of teleport nats configure', async () => {
    await expect(connect({ servers: cluster.nats.url, timeout: 3_000 })).rejects.toThrow('Authorization Violation');
  });

  it('refuses a client without credentials on the embedded NATS of teleport start, which the cluster itself uses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbaccess-embedded-'));
    const natsPort = await freePort();
    const config = join(dir, 'teleport.yaml');
    writeFileSync(
      config,
      `teleport:\n  data_dir: ${join(dir, 'data')}\n  nats:\n    listen_addr: 127.0.0.1:${natsPort}\n` +
        `auth_service:\n  cluster_name: embedded\nproxy_service:\n  web_listen_addr: 127.0.0.1:${await freePort()}\n`,
    );
    const child = spawn(process.execPath, [BIN.teleport, 'start', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      const deadline = Date.now() + 60_000;
      while (!log.includes('the cluster is up')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`teleport start did not come up:\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(log).toContain('credentials required');
      await expect(connect({ servers: `nats://127.0.0.1:${natsPort}`, timeout: 3_000 })).rejects.toThrow('Authorization Violation');
      await expect(connect({ servers: `nats://127.0.0.1:${natsPort}`, user: 'admin', pass: 'admin', timeout: 3_000 })).rejects.toThrow(
        'Authorization Violation',
      );
    } finally {
      await stopChild(child, 10_000);
    }
  });
});

describe("a Database Service's own credentials, as anyone who took over its host would hold them", () => {
  let nc: NatsConnection;
  let rpc: RpcClient;
  beforeAll(async () => {
    const credentials = dbServiceCredentials(service.dataDir);
    nc = await connectNats({ servers: [cluster.nats.url], credentials }, 'stolen');
    rpc = new RpcClient(nc, credentials.identity);
  });
  afterAll(() => nc?.close());

  it('cannot request a user certificate, nor a host certificate', async () => {
    const { publicKeyPem } = await generateKeyPair();
    await expect(rpc.call(Rpc.Auth.SignUser, { user: 'alice', public_key: publicKeyPem, ttl_ms: 3_600_000 })).rejects.toThrow(
      `the bus does not let this process send auth.certs.sign-user.db.${dbHostId}`,
    );
    await expect(rpc.call(Rpc.Auth.SignHost, { public_key: publicKeyPem, ttl_ms: 3_600_000 })).rejects.toThrow(
      'does not let this process send',
    );
    // Nor as anyone else: the subject carries the sender, and it may only be its own.
    const asAdmin = new RpcClient(nc, busIdentity(BusRole.Admin, 'admin'));
    await expect(asAdmin.call(Rpc.Auth.SignUser, { user: 'alice', public_key: publicKeyPem, ttl_ms: 3_600_000 })).rejects.toThrow(
      'does not let this process send auth.certs.sign-user.admin.admin',
    );
  });

  it('cannot read the CLUSTER stream, subscribe to cluster.> or to >', async () => {
    await expect(jetstream(nc).consumers.get('CLUSTER')).rejects.toThrow(/Permissions Violation/);
    expect(await subscriptionError(nc, 'cluster.>')).toMatch(/Permissions Violation for Subscription to "cluster.>"/);
    expect(await subscriptionError(nc, '>')).toMatch(/Permissions Violation for Subscription to ">"/);
    expect(await subscriptionError(nc, '_INBOX.>')).toMatch(/Permissions Violation for Subscription/);
  });

  it('cannot delete or purge the AUDIT stream, nor change a bucket', async () => {
    const jsm = await jetstreamManager(nc);
    await expect(jsm.streams.delete('AUDIT')).rejects.toThrow(/Permissions Violation for Publish to "\$JS.API.STREAM.DELETE.AUDIT"/);
    await expect(jsm.streams.purge('AUDIT')).rejects.toThrow(/Permissions Violation for Publish to "\$JS.API.STREAM.PURGE.AUDIT"/);
    const servers = await new Kvm(nc).open(Buckets.DbServers);
    await expect(servers.put(`example.someone-else`, '{}')).rejects.toThrow(/Permissions Violation/);
    const admin = await busClient(cluster);
    try {
      expect((await (await jetstreamManager(admin.nc)).streams.info('AUDIT')).config.name).toBe('AUDIT');
    } finally {
      await admin.nc.close();
    }
  });

  it('cannot send a cancel to a session it does not serve', async () => {
    await expect(
      nc.request('db.cancel.another-database-service', JSON.stringify({ process_id: 1, secret_key: 2 }), { timeout: 2_000 }),
    ).rejects.toThrow(/Permissions Violation for Publish to "db.cancel.another-database-service"/);
    await expect(rpc.call(Rpc.Broker.Cancel, { process_id: 1, secret_key: 2 })).rejects.toThrow('does not let this process send');
  });

  it('leaves the Database Service working', async () => {
    await sessionWorks('still-serving');
  });
});

describe('requests are decided on who sent them', () => {
  it("signs a proxy's host certificate for the sender's host id and role, whatever the request names", async () => {
    const proxy = await busClient(cluster, busIdentity(BusRole.Proxy, 'proxy-two'));
    try {
      const { publicKeyPem } = await generateKeyPair();
      const signed = await proxy.rpc.call<SignedCert>(Rpc.Auth.SignHost, { public_key: publicKeyPem, ttl_ms: 60_000 });
      expect(parseHostIdentity(signed.cert)).toMatchObject({ hostId: 'proxy-two', systemRole: 'Proxy' });
      await expect(
        proxy.rpc.call(Rpc.Auth.SignHost, { public_key: publicKeyPem, ttl_ms: 60_000, host_id: 'admin', system_role: 'Admin' }),
      ).rejects.toThrow('host_id: unknown field; system_role: unknown field');
    } finally {
      await proxy.nc.close();
    }
  });

  it('will not start a session assigned to another Database Service, whatever session id the request names', async () => {
    const proxy = await busClient(cluster, busIdentity(BusRole.Proxy, 'proxy-three'));
    const impostor = await busClient(cluster, busIdentity(BusRole.Db, 'impostor'));
    try {
      const grant = await proxy.rpc.call<DataPlane.AuthorizeReply>(Rpc.Broker.Authorize, {
        user_cert: aliceDbCert().cert,
        db_user: 'alice',
        db_name: 'postgres',
        client_addr: '127.0.0.1:1',
      });
      expect(grant.servers).toEqual([dbHostId]);
      await expect(
        impostor.rpc.call(Rpc.Broker.SessionsStart, {
          sid: grant.sid,
          user_cert: aliceDbCert().cert,
          db_service: 'example',
          db_user: 'alice',
          db_name: 'postgres',
          cancel_secret: 7,
        }),
      ).rejects.toThrow('the session was not assigned to this Database Service');
    } finally {
      await proxy.nc.close();
      await impostor.nc.close();
    }
  });

  it('answers a start sent again by the same Database Service as the first, and nothing else that names a started session', async () => {
    const proxy = await busClient(cluster, busIdentity(BusRole.Proxy, 'proxy-four'));
    const db = await busClient(cluster, busIdentity(BusRole.Db, dbHostId));
    try {
      const { sid } = await proxy.rpc.call<DataPlane.AuthorizeReply>(Rpc.Broker.Authorize, {
        user_cert: aliceDbCert().cert,
        db_user: 'alice',
        db_name: 'postgres',
        client_addr: '127.0.0.1:4',
      });
      const start = { sid, user_cert: aliceDbCert().cert, db_service: 'example', db_user: 'alice', db_name: 'postgres', cancel_secret: 11 };
      const first = await db.rpc.call<DataPlane.SessionGrant>(Rpc.Broker.SessionsStart, start);
      expect(first).toMatchObject({ user: 'alice', cluster_name: CLUSTER });
      await expect(db.rpc.call(Rpc.Broker.SessionsStart, start)).resolves.toEqual(first);
      await expect(db.rpc.call(Rpc.Broker.SessionsStart, { ...start, cancel_secret: 12 })).rejects.toThrow(
        'the session was already started',
      );
      // The repeat recorded nothing; the replay with another secret was refused (TDB00W) once.
      await eventually(async () => {
        const refusals = (await readAudit(cluster)).filter((m) => m.event.sid === sid && m.event.event === 'db.session.start');
        expect(refusals.map((m) => m.event.code)).toEqual(['TDB00W']);
      });
      await db.rpc.call(Rpc.Broker.SessionsEnd, { sid });
    } finally {
      await proxy.nc.close();
      await db.nc.close();
    }
  });
});

describe('a proxy identity that hands the Database Service a session the user may not have', () => {
  let proxy: RogueProxy;
  beforeAll(async () => {
    proxy = await startRogueProxy(cluster);
  });
  afterAll(() => proxy?.stop());

  /** Writes a session header on one of the tunnels the Database Service opened, and reads its answer. */
  async function handOver(header: DataPlane.SessionHeader): Promise<string> {
    const socket = await proxy.tunnel();
    socket.write(DataPlane.encodeSessionHeader(header));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    await new Promise((resolve) => socket.once('close', resolve));
    return answer;
  }

  /** The connection to PostgreSQL dialed while the broker was asked is closed once it said no. */
  const noConnectionToPostgres = () =>
    until(
      'no connection from the Database Service to PostgreSQL',
      () => (dialedConnections(postgres.port).some((c) => c.pid === service.process.pid) ? undefined : true),
      5_000,
    );

  it('is refused by the Database Service itself, with a TDB00W event, when the user may not be that database user', async () => {
    const grant = await proxy.bus.rpc.call<DataPlane.AuthorizeReply>(Rpc.Broker.Authorize, {
      user_cert: aliceDbCert().cert,
      db_user: 'alice',
      db_name: 'postgres',
      client_addr: '127.0.0.1:2',
    });
    const answer = await handOver({
      sid: grant.sid,
      user_cert: aliceDbCert().cert,
      db_user: 'postgres',
      db_name: 'postgres',
      parameters: {},
      client_addr: '127.0.0.1:2',
    });
    expect(answer).toContain('FATAL');
    expect(answer).toContain('the session was authorized for another database user or name; the Database Service refused it');
    await noConnectionToPostgres();
    await eventually(async () => {
      const start = (await readAudit(cluster)).find((m) => m.event.sid === grant.sid && m.event.event === 'db.session.start');
      expect(start?.event).toMatchObject({ code: 'TDB00W', success: false, user: 'alice', db_user: 'postgres' });
    });
  });

  it('is refused for a session id the broker never authorized', async () => {
    const sid = '00000000-0000-4000-8000-000000000001';
    const answer = await handOver({
      sid,
      user_cert: aliceDbCert().cert,
      db_user: 'alice',
      db_name: 'postgres',
      parameters: {},
      client_addr: '127.0.0.1:3',
    });
    expect(answer).toContain('no such session was authorized');
    await noConnectionToPostgres();
    await eventually(async () =>
      expect((await readAudit(cluster)).find((m) => m.event.sid === sid)?.event).toMatchObject({ code: 'TDB00W', success: false }),
    );
    await sessionWorks('after-rogue-proxy');
  });
});

it('lets the cluster issue admin credentials for NATS tools with teleport nats creds', async () => {
  const file = join(cluster.dir, 'admin.creds');
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN.teleport, 'nats', 'creds', '-c', cluster.configFile, '--ttl=5m', '-o', file]);
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
  });
  expect(out).toMatch(/^Wrote admin credentials for the bus to .*admin\.creds, valid until \d{4}-/);
  const { credsAuthenticator } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: cluster.nats.url, authenticator: credsAuthenticator(readFileSync(file)) });
  try {
    expect((await (await jetstreamManager(nc)).streams.info('CLUSTER')).config.name).toBe('CLUSTER');
  } finally {
    await nc.close();
  }
});
