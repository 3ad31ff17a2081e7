// Bad input never half-applies: each case gets one `ERROR: ` line on stderr, exit code 1, and leaves
// the cluster (roles, databases, tokens) and the file system as they were.
import { newUserKey } from '#libs/bus';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, parseHostIdentity } from '#libs/pki';
import { run, TestCluster } from '../support/cluster.js';
import { expectCliError, expectOk, openssl, tctlElsewhere, tshElsewhere } from '../support/elsewhere.js';

const INVALID_TOKEN = "the join token is invalid, expired or was removed; ask an administrator for a new one ('tctl tokens add --type=db')";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start();
  expectOk(await cluster.tctl(['create'], { input: role('existing', 'before') }));
});
afterAll(() => cluster?.stop());

function role(name: string, description: string, allow = '    db_labels: {env: dev}\n'): string {
  return `kind: role\nversion: v7\nmetadata:\n  name: ${name}\n  description: ${description}\nspec:\n  allow:\n${allow}`;
}

let files = 0;
/** Writes `text` to a new file in the cluster's temp dir and returns its path. */
function file(text: string, ext = 'yaml'): string {
  const path = join(cluster.dir, `input-${++files}.${ext}`);
  writeFileSync(path, text);
  return path;
}

/** Everything `tctl create` could change. */
async function resources(): Promise<{ roles: unknown; dbs: unknown }> {
  const roles = expectOk(await cluster.tctl(['get', 'roles', '--format=json']));
  const dbs = expectOk(await cluster.tctl(['get', 'db', '--format=json']));
  return { roles: JSON.parse(roles), dbs: JSON.parse(dbs) };
}

/** `tctl create <file>` fails with `message` and changes nothing. */
async function expectCreateRefused(path: string, message: string): Promise<void> {
  const before = await resources();
  expectCliError(await cluster.tctl(['create', path]), message);
  expect(await resources()).toEqual(before);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('tctl create', () => {
  it('refuses malformed YAML, naming the line', async () => {
    const path = file(role('broken', 'x', '    db_labels: {env: dev}\n   db_users: [alice]\n'));
    await expectCreateRefused(path, `${path}: malformed YAML at line 9: All mapping items must start at the same column`);
  });

  it('applies none of two documents when the second has an unknown kind', async () => {
    const path = file(`${role('first', 'valid')}---\nkind: widget\nversion: v1\nmetadata:\n  name: w\n`);
    await expectCreateRefused(path, `${path} (document 2): unsupported resource kind "widget": tctl create accepts role, db and lock`);
    expectCliError(await cluster.tctl(['get', 'role/first']), 'role "first" not found');
  });

  it('refuses a role with an unknown field, naming it', async () => {
    const path = file(role('typo', 'x', '    db_lables: {env: dev}\n'));
    await expectCreateRefused(path, 'invalid role "typo": spec.allow.db_lables: unknown field');
  });

  it('refuses a role with a label value that is not a valid regular expression, naming the label', async () => {
    const path = file(role('bad-regex', 'x', "    db_labels: {env: '^[unclosed$'}\n"));
    await expectCreateRefused(
      path,
      'invalid role "bad-regex": spec.allow.db_labels.env: "^[unclosed$" is not a valid regular expression (Invalid regular expression: /^[unclosed$/: Unterminated character class)',
    );
  });

  it('refuses a db resource with an unknown field, naming it', async () => {
    const path = file(
      'kind: db\nversion: v3\nmetadata:\n  name: orders\nspec:\n  protocol: postgres\n  uri: localhost:5432\n  port: 5432\n',
    );
    await expectCreateRefused(path, 'invalid db resource: spec.port: unknown field');
  });

  it('refuses a db resource whose uri is not host:port', async () => {
    const path = file('kind: db\nversion: v3\nmetadata:\n  name: orders\nspec:\n  protocol: postgres\n  uri: postgres://localhost\n');
    await expectCreateRefused(path, 'invalid db resource: spec.uri: must be host:port');
  });

  it('refuses to overwrite an existing role without -f, and overwrites it with -f', async () => {
    const path = file(role('existing', 'after'));
    await expectCreateRefused(path, `role "existing" already exists; use 'tctl create -f' to overwrite it`);
    expect(JSON.parse(expectOk(await cluster.tctl(['get', 'role/existing', '--format=json']))).metadata.description).toBe('before');

    expect(expectOk(await cluster.tctl(['create', '-f', path]))).toBe('role "existing" has been updated\n');
    expect(JSON.parse(expectOk(await cluster.tctl(['get', 'role/existing', '--format=json']))).metadata.description).toBe('after');
  });
});

describe('teleport start', () => {
  /** A config that would otherwise start against a NATS server that is not there (never the machine's own). */
  function config(body: string): { path: string; dataDir: string } {
    const dataDir = join(cluster.dir, `never-${files + 1}`);
    const path = file(`teleport:\n  data_dir: ${dataDir}\n  nats:\n    servers: [nats://127.0.0.1:1]\n${body}`);
    return { path, dataDir };
  }

  it('refuses a malformed config file and creates no data dir', async () => {
    const { path, dataDir } = config('auth_service:\n  cluster_name: a: b\n');
    expectCliError(
      await run('teleport', ['start', '-c', path]),
      `${path}: malformed YAML at line 6: Nested mappings are not allowed in compact mappings`,
    );
    expect(existsSync(dataDir)).toBe(false);
  });

  it('refuses an unknown key, naming it, and creates no data dir', async () => {
    const { path, dataDir } = config('proxy_service:\n  web_listen_adr: 127.0.0.1:0\n');
    expectCliError(await run('teleport', ['start', '-c', path]), `${path}: proxy_service.web_listen_adr: unknown field`);
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('join tokens', () => {
  async function join(token: string) {
    const { publicKeyPem } = await generateKeyPair();
    const bus_public_key = newUserKey().getPublicKey();
    return cluster.api('POST', '/v1/webapi/host/join', { token, role: 'Db', host_id: 'h1', public_key: publicKeyPem, bus_public_key });
  }
  async function addToken(ttl: string): Promise<string> {
    const out = expectOk(await cluster.tctl(['tokens', 'add', '--type=db', `--ttl=${ttl}`, '--format=text']));
    expect(out).toMatch(/^[0-9a-f]{32}\n$/);
    return out.trim();
  }

  it('refuses an expired token', async () => {
    const token = await addToken('1s');
    await sleep(2_000);
    expect(await join(token)).toEqual({ status: 403, json: { error: { code: 'access_denied', message: INVALID_TOKEN } } });
  });

  it('refuses a removed token', async () => {
    const token = await addToken('1h');
    expect(expectOk(await cluster.tctl(['tokens', 'rm', token]))).toBe(`Token ${token} has been deleted\n`);
    expect(await join(token)).toEqual({ status: 403, json: { error: { code: 'access_denied', message: INVALID_TOKEN } } });
  });

  it('gives a host certificate for a valid token', async () => {
    const token = await addToken('1h');
    const { status, json } = await join(token);
    expect(status).toBe(200);
    expect(parseHostIdentity(json.cert)).toMatchObject({ hostId: 'h1', systemRole: 'Db' });
    const hostCa = file(expectOk(await cluster.tctl(['auth', 'export', '--type=host'])), 'pem');
    const cert = file(json.cert, 'pem');
    expect(await openssl(['verify', '-CAfile', hostCa, cert])).toBe(`${cert}: OK\n`);
  });

  it('refuses to add a token of a type that cannot join', async () => {
    const before = expectOk(await cluster.tctl(['tokens', 'ls', '--format=json']));
    expectCliError(await cluster.tctl(['tokens', 'add', '--type=ssh']), 'unsupported --type "ssh": use db, proxy or provisioning');
    expect(expectOk(await cluster.tctl(['tokens', 'ls', '--format=json']))).toBe(before);
  });
});

describe('identity files', () => {
  it('refuses an expired identity file in tctl, and tsh status shows it EXPIRED', async () => {
    expectOk(await cluster.tctl(['users', 'add', 'ed', '--roles=editor']));
    const path = join(cluster.dir, 'f.pem');
    expectOk(await cluster.tctl(['auth', 'sign', '--user=ed', '--format=file', `--out=${path}`, '--ttl=2s']));
    await sleep(3_000);
    expectCliError(
      await tctlElsewhere(cluster, path, ['users', 'ls']),
      new RegExp(
        `^ERROR: the identity in ${path} expired at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z; issue a new one with 'tctl auth sign --user=<name> --format=file'\n$`,
      ),
    );
    const status = expectOk(await tshElsewhere(cluster, path, ['status']));
    expect(status).toMatch(/^ {2}Valid until: {8}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC \[EXPIRED\]$/m);
    expect(status).toMatch(/^ {2}Logged in as: {7}ed$/m);
  });
});

describe('tctl auth sign --format=db', () => {
  it('needs --host, and writes no files without it', async () => {
    const out = join(cluster.dir, 'no-host');
    mkdirSync(out);
    expectCliError(
      await cluster.tctl(['auth', 'sign', '--format=db', `--out=${join(out, 'server')}`]),
      '--host is required with --format=db: the name(s) the Database Service reaches the database at',
    );
    expect(readdirSync(out)).toEqual([]);
  });
});
