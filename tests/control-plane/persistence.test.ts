import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openPrivateKey } from '#libs/pki';
import { TestCluster, type RunResult } from '../support/cluster.js';
import { readStream, type StreamMessage } from '../support/cluster-stream.js';
import { linkToken } from '../support/links.js';

// Cluster state lives only in the CLUSTER stream (and the KEK in the data dir): a restart of every
// process, nats-server included, must bring all of it back; and the stream must never hold a secret
// in clear.

const PASSWORD = 'persistent-pass-0123';
const RESET_PASSWORD = 'second-persistent-pass-4567';
const CA_EXPORT_TYPES = ['user', 'host', 'db', 'db-client'] as const;

const ROLE_YAML = `kind: role
version: v7
metadata:
  name: dba
  description: Connect to staging databases as a DBA
spec:
  options:
    max_session_ttl: 8h
  allow:
    db_labels:
      env: staging
    db_users: ['{{internal.db_users}}', dba]
    db_names: ['*']
  deny:
    db_users: [root]
`;

const DB_YAML = `kind: db
version: v3
metadata:
  name: orders
  labels:
    env: staging
    team: payments
spec:
  protocol: postgres
  uri: localhost:5432
`;

let cluster: TestCluster;
/** Secrets handed out while the cluster ran: none may appear in the stream. */
const secrets = { signupToken: '', resetToken: '', joinToken: '' };

function ok(result: RunResult): string {
  if (result.code !== 0 || result.stderr !== '') {
    throw new Error(`exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return result.stdout;
}

async function json(args: string[]): Promise<unknown> {
  return JSON.parse(ok(await cluster.tctl(args)));
}

/** Everything the test created, as tctl shows it, plus the CAs. */
async function snapshot() {
  const exports: Record<string, string> = {};
  for (const type of CA_EXPORT_TYPES) exports[type] = ok(await cluster.tctl(['auth', 'export', `--type=${type}`]));
  return {
    user: await json(['get', 'user/carol', '--format=json']),
    users: await json(['users', 'ls', '--format=json']),
    role: await json(['get', 'role/dba', '--format=json']),
    tokens: await json(['tokens', 'ls', '--format=json']),
    db: await json(['get', 'db/orders', '--format=json']),
    status: ok(await cluster.tctl(['status'])),
    exports,
  };
}

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'persist-cluster' });

  const roleFile = join(cluster.dir, 'role.yaml');
  writeFileSync(roleFile, ROLE_YAML);
  expect(await cluster.tctl(['create', roleFile])).toEqual({ code: 0, stdout: 'role "dba" has been created\n', stderr: '' });

  const dbFile = join(cluster.dir, 'db.yaml');
  writeFileSync(dbFile, DB_YAML);
  expect(await cluster.tctl(['create', dbFile])).toEqual({ code: 0, stdout: 'db "orders" has been created\n', stderr: '' });

  const added = ok(await cluster.tctl(['users', 'add', 'carol', '--roles=access,dba', '--db-users=carol,postgres', '--db-names=orders,*']));
  secrets.signupToken = linkToken(added);
  expect(await cluster.api('PUT', '/v1/webapi/users/password/token', { token: secrets.signupToken, password: PASSWORD })).toEqual({
    status: 200,
    json: { user: 'carol' },
  });

  // A second user whose password comes from a reset link: that token must not leak either.
  const dave = ok(await cluster.tctl(['users', 'add', 'dave', '--roles=access']));
  expect((await cluster.api('PUT', '/v1/webapi/users/password/token', { token: linkToken(dave), password: PASSWORD })).status).toBe(200);
  secrets.resetToken = linkToken(ok(await cluster.tctl(['users', 'reset', 'dave'])), 'reset');
  expect(await cluster.api('PUT', '/v1/webapi/users/password/token', { token: secrets.resetToken, password: RESET_PASSWORD })).toEqual({
    status: 200,
    json: { user: 'dave' },
  });

  const token = await cluster.tctl(['tokens', 'add', '--type=db', '--format=text']);
  expect(token.stderr).toBe('');
  expect(token.stdout).toMatch(/^[0-9a-f]{32}\n$/);
  secrets.joinToken = token.stdout.trim();
});
afterAll(() => cluster?.stop());

describe('a restart of every service and of nats-server', () => {
  it('keeps users, roles, join tokens, databases, the CAs and the CA pin', async () => {
    const before = await snapshot();
    // The snapshot holds what was created, so the comparison below compares something.
    expect(before.user).toEqual({
      name: 'carol',
      roles: ['access', 'dba'],
      traits: { db_users: ['carol', 'postgres'], db_names: ['orders', '*'] },
      created_by: 'admin',
      has_password: true,
    });
    expect((before.users as { name: string }[]).map((u) => u.name)).toEqual(['carol', 'dave']);
    expect(before.role).toEqual({
      kind: 'role',
      version: 'v7',
      metadata: { name: 'dba', description: 'Connect to staging databases as a DBA' },
      spec: {
        options: { max_session_ttl: '8h' },
        allow: { db_labels: { env: 'staging' }, db_users: ['{{internal.db_users}}', 'dba'], db_names: ['*'] },
        deny: { db_users: ['root'] },
      },
    });
    expect(before.tokens).toEqual([{ token: secrets.joinToken, roles: ['Db'], expires: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
    expect(before.db).toEqual({
      kind: 'db',
      version: 'v3',
      metadata: { name: 'orders', labels: { env: 'staging', team: 'payments' } },
      spec: { protocol: 'postgres', uri: 'localhost:5432' },
    });
    expect(before.status).toMatch(/^Cluster  persist-cluster\nVersion  \d+\.\d+\.\d+\nCA pin   sha256:[0-9a-f]{64}\n$/);
    for (const type of CA_EXPORT_TYPES) {
      expect(before.exports[type]).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    }
    expect(new Set(Object.values(before.exports)).size).toBe(4);

    await cluster.restart();

    expect(await snapshot()).toEqual(before);
  });

  it('lets a user created before the restart log in with the password set before it', async () => {
    const login = await cluster.tsh(['login', '--insecure', `--proxy=${cluster.proxyAddr}`, '--user=carol'], { input: PASSWORD + '\n' });
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(
      '  Logged in as:       carol\n  Cluster:            persist-cluster\n  Roles:              access, dba\n',
    );
    expect(login.stdout).toContain('  Database users:     carol, postgres\n  Database names:     orders, *\n');
    // The dba role caps sessions at 8h.
    expect(login.stdout).toMatch(/\[valid for (7h\d+m(\d+s)?|8h)\]\n$/);

    const reset = await cluster.tsh(['login', '--insecure', `--proxy=${cluster.proxyAddr}`, '--user=dave'], {
      input: RESET_PASSWORD + '\n',
    });
    expect(reset.stderr).toBe('');
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain('  Logged in as:       dave\n');
  });
});

describe('the CLUSTER stream, read straight from nats-server', () => {
  let messages: StreamMessage[];
  beforeAll(async () => {
    messages = await readStream(cluster, 'CLUSTER');
  });

  function events(subjectPrefix: string): { subject: string; type: string; data: Record<string, unknown> }[] {
    return messages
      .filter((m) => m.subject.startsWith(subjectPrefix))
      .flatMap((m) => (JSON.parse(m.body) as { type: string; data: Record<string, unknown> }[]).map((e) => ({ subject: m.subject, ...e })));
  }

  it('holds the commits the test made', () => {
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
    expect(events('cluster.user.carol').map((e) => e.type)).toEqual(['user.created', 'user.token.issued', 'user.password.set']);
    expect(events('cluster.user.dave').map((e) => e.type)).toEqual([
      'user.created',
      'user.token.issued',
      'user.password.set',
      'user.token.issued',
      'user.password.set',
    ]);
    expect(events('cluster.token.').map((e) => e.type)).toEqual(['token.created']);
    expect(events('cluster.db.orders').map((e) => e.type)).toEqual(['db.upserted']);
  });

  it('holds no private key in clear', () => {
    for (const m of messages) {
      expect(m.body).not.toContain('PRIVATE KEY');
      // Base64 of a PKCS#8 RSA key's DER after its length bytes: INTEGER 0, AlgorithmIdentifier rsaEncryption, OCTET STRING.
      expect(m.body).not.toContain('ADANBgkqhkiG9w0BAQEFAASC');
    }
  });

  it('keeps each CA private key sealed with the key-encryption key of the data dir', () => {
    const cas = events('cluster.ca.');
    expect(cas.map((e) => `${e.subject} ${e.type}`).sort()).toEqual([
      'cluster.ca.db ca.created',
      'cluster.ca.db_client ca.created',
      'cluster.ca.host ca.created',
      'cluster.ca.user ca.created',
    ]);
    const kek = Buffer.from(readFileSync(join(cluster.dataDir, 'kek'), 'utf8').trim(), 'hex');
    for (const ca of cas) {
      const sealed = ca.data.sealed_key as string;
      expect(sealed).toMatch(/^v1:[A-Za-z0-9+/]+=*$/);
      expect(sealed).not.toContain('BEGIN');
      expect(Buffer.from(sealed.slice(3), 'base64').toString('latin1')).not.toContain('PRIVATE KEY');
      // It does hold the key: the KEK opens it.
      expect(openPrivateKey(sealed, kek)).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    }
  });

  it('keeps the join token sealed and never stores signup or reset tokens, or passwords', () => {
    const [created] = events('cluster.token.');
    expect(created!.data.sealed_token).toMatch(/^v1:/);
    for (const m of messages) {
      for (const [name, secret] of Object.entries(secrets)) {
        expect(secret).toMatch(/^[0-9a-f]{32}$/);
        if (m.body.includes(secret) || m.subject.includes(secret)) throw new Error(`${name} found in message ${m.seq} (${m.subject})`);
      }
      expect(m.body).not.toContain(PASSWORD);
      expect(m.body).not.toContain(RESET_PASSWORD);
    }
    const hashes = events('cluster.user.')
      .filter((e) => e.type === 'user.password.set')
      .map((e) => e.data.password_hash);
    expect(hashes).toHaveLength(3);
    for (const hash of hashes) expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  });
});
