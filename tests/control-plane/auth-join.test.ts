// Proxies that join at the auth service (auth_service.listen_addr, Teleport's 3025) with a proxy token,
// as compose and Kubernetes run them: such a proxy holds neither the bus keys nor the key-encryption key,
// only its own host certificate and bus credentials, and serves users as any proxy does. The endpoint
// takes proxies only, valid tokens only, bounded requests only.
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { newUserKey } from '#libs/bus';
import { generateKeyPair } from '#libs/pki';
import { freePort } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import { startProxy, type ProxyProcess } from '../support/data-plane.js';
import { expectOk } from '../support/elsewhere.js';

let cluster: TestCluster;
let authAddr: string;
let proxy: ProxyProcess;

beforeAll(async () => {
  authAddr = `127.0.0.1:${await freePort()}`;
  cluster = await TestCluster.start({ clusterName: 'auth-join', authListenAddr: authAddr });
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await cluster?.stop();
});

/** POSTs `body` (a string, sent as it is) to the auth service's join endpoint, its certificate unchecked. */
function post(path: string, body: string): Promise<{ status: number; json: any }> {
  const [host, port] = [authAddr.split(':')[0], Number(authAddr.split(':')[1])];
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path, method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

it('a proxy joins at the auth service with a proxy token and serves users, holding no bus keys and no KEK', async () => {
  proxy = await startProxy(cluster, { joinAt: authAddr });
  // The log is JSON lines: the quotes of the message are escaped there.
  expect(proxy.logs()).toContain(`joined cluster \\"auth-join\\" through ${authAddr}`);
  const dataDir = join(proxy.dir, 'data');
  expect(readdirSync(dataDir)).toEqual(expect.arrayContaining(['proxy-identity.pem', 'proxy-cluster.json']));
  expect(existsSync(join(dataDir, 'bus-keys.json'))).toBe(false);
  expect(existsSync(join(dataDir, 'kek'))).toBe(false);

  // A user logs in through it.
  await cluster.createUser('alice', 'alice-password-123');
  const home = join(cluster.dir, 'alice-home');
  expectOk(
    await cluster.tsh(['login', '--insecure', `--proxy=${proxy.addr}`, '--user=alice'], {
      input: 'alice-password-123\n',
      env: { TELEPORT_HOME: home },
    }),
  );
  expect(expectOk(await cluster.tsh(['status'], { env: { TELEPORT_HOME: home } }))).toContain('alice');
});

it('refuses a Database Service (it joins through a proxy), a bad token, and what is not a join', async () => {
  const joinRequest = async (role: string, token: string) =>
    JSON.stringify({
      token,
      role,
      host_id: randomUUID(),
      public_key: (await generateKeyPair()).publicKeyPem,
      bus_public_key: newUserKey().getPublicKey(),
    });
  const dbToken = expectOk(await cluster.tctl(['tokens', 'add', '--type=db', '--format=text'])).trim();
  expect(await post('/v1/webapi/host/join', await joinRequest('Db', dbToken))).toMatchObject({
    status: 403,
    json: { error: { message: 'only proxies join at the auth service; others join through a proxy' } },
  });
  expect(await post('/v1/webapi/host/join', await joinRequest('Proxy', 'not-a-token'))).toMatchObject({ status: 403 });
  expect((await post('/v1/webapi/host/join', 'not json')).status).toBe(400);
  expect((await post('/v1/webapi/users', '{}')).status).toBe(404);
  expect((await post('/v1/webapi/host/join', 'x'.repeat(100_000))).status).toBe(413);
});
