// `tsh db ls/login/env/config/logout` as the guides use them (seed 000 step 5, seed 003 "Connect"): users
// see only the databases their roles allow, and a database login leaves a certificate routed to that
// database and a section of the connection service file that psql reads. Connecting through the proxy
// is the data path's to test; here psql is only looked for.
import { mkdirSync, mkdtempSync, readFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Rpc } from '#libs/events';
import { generateKeyPair, parseIdentityFile, parseUserIdentity, verifyChain, type IdentityFile } from '#libs/pki';
import { busClient } from '../support/bus.js';
import { TestCluster, run, type RunResult } from '../support/cluster.js';
import { expectCliError, expectOk } from '../support/elsewhere.js';

const PASSWORD = 'correct-horse-battery';
const CLUSTER = 'db-cluster';

const RESOURCES = `kind: db
version: v3
metadata:
  name: metrics
  description: Metrics
  labels: {env: dev}
spec: {protocol: postgres, uri: 'metrics.internal:5432'}
---
kind: db
version: v3
metadata:
  name: aurora
  description: AWS Aurora
  labels: {env: dev, team: analytics}
spec:
  protocol: postgres
  uri: 'aurora.cluster-abc.us-east-1.rds.amazonaws.com:5432'
  aws: {region: us-east-1}
---
kind: db
version: v3
metadata:
  name: orders
  description: Orders database
  labels: {env: prod, team: billing}
spec: {protocol: postgres, uri: 'orders.internal:5432'}
---
kind: db
version: v3
metadata:
  name: secret
  description: Security team only
  labels: {env: prod, team: security}
spec: {protocol: postgres, uri: 'secret.internal:5432'}
---
kind: role
version: v7
metadata:
  name: dev
spec:
  allow:
    db_labels: {env: dev}
    db_users: ['{{internal.db_users}}']
    db_names: [metrics]
---
kind: role
version: v7
metadata:
  name: billing
spec:
  options:
    create_db_user_mode: keep
  allow:
    db_labels: {team: billing}
    db_users: ['*', postgres]
    db_names: ['*']
    db_roles: [reader, writer]
`;

const ALICE_DBS = [
  {
    name: 'aurora',
    description: 'AWS Aurora',
    protocol: 'postgres',
    type: 'rds',
    uri: 'aurora.cluster-abc.us-east-1.rds.amazonaws.com:5432',
    labels: { env: 'dev', team: 'analytics' },
    allowed_users: ['alice'],
    allowed_names: ['metrics'],
    allowed_roles: [],
  },
  {
    name: 'metrics',
    description: 'Metrics',
    protocol: 'postgres',
    type: 'self-hosted',
    uri: 'metrics.internal:5432',
    labels: { env: 'dev' },
    allowed_users: ['alice'],
    allowed_names: ['metrics'],
    allowed_roles: [],
  },
  {
    name: 'orders',
    description: 'Orders database',
    protocol: 'postgres',
    type: 'self-hosted',
    uri: 'orders.internal:5432',
    labels: { env: 'prod', team: 'billing' },
    allowed_users: ['*', 'postgres'],
    allowed_names: ['*'],
    allowed_roles: ['reader', 'writer'],
    auto_user: true,
  },
];

const OTHER_SECTION = `# databases outside the cluster
[local]
host=localhost
dbname=app
`;

let cluster: TestCluster;
let port: string;
let keys: string;
let home: string;
let serviceFile: string;

/** tsh as alice, with her own HOME and the service file of this test. */
function tsh(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return cluster.tsh(args, { env: { HOME: home, PGSERVICEFILE: serviceFile, ...env } });
}

function loginIdentity(): IdentityFile {
  return parseIdentityFile(readFileSync(join(keys, 'alice.pem'), 'utf8'));
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

function section(db: string, lines: string[]): string {
  return (
    [`[${CLUSTER}-${db}]`, 'host=127.0.0.1', `port=${port}`, ...lines, 'sslmode=verify-full']
      .concat([`sslrootcert=${keys}/certs.pem`, `sslcert=${keys}/alice-db/${CLUSTER}/${db}-x509.pem`, `sslkey=${keys}/alice`])
      .concat('gssencmode=disable')
      .join('\n') + '\n'
  );
}

/** A request to the proxy's API with a client certificate (mutual TLS). */
function mtls(path: string, id: { certPem: string; privateKeyPem: string }, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((done, fail) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `https://${cluster.proxyAddr}${path}`,
      {
        method: body === undefined ? 'GET' : 'POST',
        cert: id.certPem,
        key: id.privateKeyPem,
        rejectUnauthorized: false,
        headers: payload ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => done({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on('error', fail);
    req.end(payload);
  });
}

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  port = cluster.proxyAddr.split(':')[1]!;
  keys = join(cluster.tshHome, 'keys', '127.0.0.1');
  home = mkdtempSync(join(cluster.dir, 'home-'));
  serviceFile = join(cluster.dir, 'pg_service.conf');
  expectOk(await cluster.tctl(['create'], { input: RESOURCES }));
  await cluster.createUser('alice', PASSWORD, ['--roles=dev,billing', '--db-users=alice']);
  await cluster.createUser('bob', PASSWORD, ['--roles=dev', '--db-users=bob,postgres']);
  expectOk(await cluster.tsh(['login', '--insecure', `--proxy=${cluster.proxyAddr}`, '--user=alice'], { input: PASSWORD + '\n' }));
});
afterAll(() => cluster?.stop());

describe('tsh db ls', () => {
  it('shows the databases her roles let alice see, as Teleport prints them', async () => {
    expect(expectOk(await tsh(['db', 'ls']))).toBe(
      'Name    Description     Labels\n' +
        '------- --------------- ----------------------\n' +
        'aurora  AWS Aurora      env=dev,team=analytics\n' +
        'metrics Metrics         env=dev\n' +
        'orders  Orders database env=prod,team=billing\n',
    );
  });

  it('gives the same databases as JSON and YAML, with what her roles allow on each', async () => {
    expect(JSON.parse(expectOk(await tsh(['db', 'ls', '--format=json'])))).toEqual(ALICE_DBS);
    expect(expectOk(await tsh(['db', 'ls', '--format', 'yaml']))).toMatch(/^- name: aurora\n {2}description: AWS Aurora\n/);
  });

  it('adds protocol, type, URI and the allowed database users, names and roles with -v', async () => {
    expect(expectOk(await tsh(['db', 'ls', '-v']))).toBe(
      'Name    Description     Protocol Type        URI                                                 Allowed Users Database Names Database Roles  Labels\n' +
        '------- --------------- -------- ----------- --------------------------------------------------- ------------- -------------- --------------- ----------------------\n' +
        'aurora  AWS Aurora      postgres rds         aurora.cluster-abc.us-east-1.rds.amazonaws.com:5432 [alice]       [metrics]      []              env=dev,team=analytics\n' +
        'metrics Metrics         postgres self-hosted metrics.internal:5432                               [alice]       [metrics]      []              env=dev\n' +
        'orders  Orders database postgres self-hosted orders.internal:5432                                [* postgres]  [*]            [reader writer] env=prod,team=billing\n',
    );
  });

  it('keeps only the databases with every label of a selector', async () => {
    const names = async (selector: string) =>
      (JSON.parse(expectOk(await tsh(['db', 'ls', selector, '--format=json']))) as { name: string }[]).map((d) => d.name);
    expect(await names('env=dev')).toEqual(['aurora', 'metrics']);
    expect(await names('env=prod,team=billing')).toEqual(['orders']);
    expect(await names('team=security')).toEqual([]);
    expect(expectOk(await tsh(['db', 'ls', 'env=qa']))).toBe('Name Description Labels\n---- ----------- ------\n');
    expectCliError(await tsh(['db', 'ls', 'env']), 'invalid label selector "env": expected key=value[,key=value...]');
  });

  it('shows bob only what his role allows, from an identity file and --proxy alone', async () => {
    const bobFile = join(cluster.dir, 'bob.pem');
    expectOk(await cluster.tctl(['auth', 'sign', '--user=bob', '--format=file', `--out=${bobFile}`, '--ttl=1h']));
    const bobHome = join(cluster.dir, 'bob-home');
    const out = await run('tsh', ['-i', bobFile, `--proxy=${cluster.proxyAddr}`, 'db', 'ls', '-v', '--format=json'], {
      env: { TELEPORT_HOME: bobHome, HOME: home },
    });
    expect((JSON.parse(expectOk(out)) as { name: string; allowed_users: string[] }[]).map((d) => [d.name, d.allowed_users])).toEqual([
      ['aurora', ['bob', 'postgres']],
      ['metrics', ['bob', 'postgres']],
    ]);
  });
});

describe('the proxy API behind it', () => {
  it('needs a user certificate or a web UI session', async () => {
    expect(await cluster.api('GET', '/v1/webapi/dbs')).toEqual({
      status: 403,
      json: {
        error: {
          code: 'access_denied',
          message: "this needs credentials: run 'tsh login', or sign in to the web UI at /web/login",
        },
      },
    });
  });

  it('refuses the local admin identity, which has no roles to check', async () => {
    const admin = parseIdentityFile(readFileSync(join(cluster.dataDir, 'admin-identity.pem'), 'utf8'));
    const res = await mtls('/v1/webapi/dbs', admin);
    expect(res).toEqual({
      status: 403,
      json: {
        error: {
          code: 'access_denied',
          message: "database access is for users, not for the Admin identity: run 'tsh login' as a user",
        },
      },
    });
  });

  it('signs no certificate for a database the user may not see, as if it did not exist', async () => {
    const { publicKeyPem } = await generateKeyPair();
    for (const name of ['secret', 'nope']) {
      expect(await mtls('/v1/webapi/certs/db', loginIdentity(), { service_name: name, public_key: publicKeyPem })).toEqual({
        status: 404,
        json: { error: { code: 'not_found', message: `database "${name}" not found` } },
      });
    }
  });

  it('validates the request body', async () => {
    const res = await mtls('/v1/webapi/certs/db', loginIdentity(), { service_name: 'metrics', public_key: 'x' });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain('expected a PEM public key (SPKI)');
  });
});

describe('auth.certs.sign-user-db', () => {
  let bus: Awaited<ReturnType<typeof busClient>>;
  beforeAll(async () => {
    bus = await busClient(cluster);
  });
  afterAll(() => bus.nc.close());

  /** A user certificate as `tctl auth sign --format=file` issues it. */
  const userCert = async (user: string, ttl: string) => {
    const path = join(cluster.dir, `${user}-${ttl}.pem`);
    expectOk(await cluster.tctl(['auth', 'sign', `--user=${user}`, '--format=file', `--out=${path}`, `--ttl=${ttl}`]));
    return parseIdentityFile(readFileSync(path, 'utf8')).certPem;
  };
  const request = async (user_cert: string) => ({
    user_cert,
    route: { service_name: 'metrics', protocol: 'postgres' },
    public_key: (await generateKeyPair()).publicKeyPem,
  });

  it('takes who the user is from the certificate, which auth checks itself', async () => {
    const signed = await bus.rpc.call<{ cert: string }>(Rpc.Auth.SignUserDb, await request(await userCert('alice', '1h')));
    const identity = parseUserIdentity(signed.cert);
    expect(identity.username).toBe('alice');
    expect(identity.roles).toEqual(['dev', 'billing']);
    expect(identity.dbRoute).toEqual({ serviceName: 'metrics', protocol: 'postgres' });
  });

  it('refuses once the login certificate has expired', async () => {
    const cert = await userCert('alice', '1s');
    await new Promise((r) => setTimeout(r, 1_500));
    await expect(bus.rpc.call(Rpc.Auth.SignUserDb, await request(cert))).rejects.toThrow(
      "your certificate has expired: run 'tsh login' again",
    );
  });

  it('refuses a certificate this cluster did not issue, and a user that no longer exists', async () => {
    const login = loginIdentity();
    await expect(bus.rpc.call(Rpc.Auth.SignUserDb, await request(login.cas.host![0]!))).rejects.toThrow(
      'the client certificate is not a user certificate of this cluster',
    );
    expectOk(await cluster.tctl(['users', 'add', 'mallory', '--roles=dev']));
    const cert = await userCert('mallory', '1h');
    expectOk(await cluster.tctl(['users', 'rm', 'mallory']));
    await expect(bus.rpc.call(Rpc.Auth.SignUserDb, await request(cert))).rejects.toThrow('user "mallory" not found');
  });
});

describe('tsh db login', () => {
  it('saves the certificate next to the key and adds its section to the service file, keeping the others', async () => {
    writeFileSync(serviceFile, OTHER_SECTION, { mode: 0o644 });
    const out = expectOk(await tsh(['db', 'login', 'metrics']));
    expect(out).toBe(
      'Connection information for database "metrics" has been saved.\n\n' +
        'You can now connect to it using the following command:\n\n  tsh db connect metrics\n\n' +
        `Or directly with psql:\n\n  psql "service=${CLUSTER}-metrics"\n`,
    );
    // Her only allowed db user and db name are the defaults.
    expect(readFileSync(serviceFile, 'utf8')).toBe(`${OTHER_SECTION}\n${section('metrics', ['user=alice', 'dbname=metrics'])}`);
    expect(mode(serviceFile)).toBe(0o644);
    for (const file of ['alice', 'certs.pem', `alice-db/${CLUSTER}/metrics-x509.pem`]) expect(mode(join(keys, file))).toBe(0o600);
    expect(readFileSync(join(keys, 'alice'), 'utf8')).toBe(loginIdentity().privateKeyPem);
    expect(readFileSync(join(keys, 'certs.pem'), 'utf8')).toBe(expectOk(await cluster.tctl(['auth', 'export', '--type=host'])));
  });

  it('issues a user-CA certificate for her key that names the route and ends no later than her login', async () => {
    const certPem = readFileSync(join(keys, `alice-db/${CLUSTER}/metrics-x509.pem`), 'utf8');
    const db = parseUserIdentity(certPem);
    const login = parseUserIdentity(loginIdentity().certPem);
    expect(db).toEqual({
      username: 'alice',
      roles: ['dev', 'billing'],
      traits: login.traits,
      dbRoute: { serviceName: 'metrics', protocol: 'postgres', username: 'alice', database: 'metrics' },
      expires: expect.any(Date),
    });
    expect(db.expires.getTime()).toBeLessThanOrEqual(login.expires.getTime());
    expect(db.expires.getTime()).toBeGreaterThan(login.expires.getTime() - 5_000);
    expect(verifyChain(certPem, [expectOk(await cluster.tctl(['auth', 'export', '--type=user']))])).toBe(true);
  });

  it("writes what verifies the proxy's certificate for host 127.0.0.1 (sslmode=verify-full) with her db certificate", async () => {
    const socket = connect({
      host: '127.0.0.1',
      port: Number(port),
      ca: readFileSync(join(keys, 'certs.pem')),
      cert: readFileSync(join(keys, `alice-db/${CLUSTER}/metrics-x509.pem`)),
      key: readFileSync(join(keys, 'alice')),
    });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    expect(socket.authorized).toBe(true);
    socket.destroy();
  });

  it('puts the db user, name and roles asked for in the certificate and the section', async () => {
    const out = expectOk(await tsh(['db', 'login', '--db-user=postgres', '--db-name=sales', '--db-roles=reader,writer', 'orders']));
    expect(out).toContain('  tsh db connect orders\n');
    const route = parseUserIdentity(readFileSync(join(keys, `alice-db/${CLUSTER}/orders-x509.pem`), 'utf8')).dbRoute;
    expect(route).toEqual({
      serviceName: 'orders',
      protocol: 'postgres',
      username: 'postgres',
      database: 'sales',
      roles: ['reader', 'writer'],
    });
    expect(readFileSync(serviceFile, 'utf8')).toBe(
      `${OTHER_SECTION}\n${section('metrics', ['user=alice', 'dbname=metrics'])}\n${section('orders', ['user=postgres', 'dbname=sales'])}`,
    );
  });

  it('leaves dbname out when her roles allow several, connects as her Teleport username where roles provision users, and replaces the section in place', async () => {
    const out = expectOk(await tsh(['db', 'login', 'orders']));
    expect(out).toContain(
      '  tsh db connect --db-name=<name> orders\n\n' + `Or directly with psql:\n\n  psql "service=${CLUSTER}-orders dbname=<dbname>"\n`,
    );
    expect(readFileSync(serviceFile, 'utf8')).toBe(
      `${OTHER_SECTION}\n${section('metrics', ['user=alice', 'dbname=metrics'])}\n${section('orders', ['user=alice'])}`,
    );
  });

  it('tsh db connect asks for the database name or user that nothing determines, rather than leave it to psql', async () => {
    // Logged in to orders without a database name (her roles allow any): psql would pick one itself.
    expectCliError(await tsh(['db', 'connect', 'orders']), 'please provide the database name using the --db-name flag');
    // bob's roles allow two database users on metrics.
    const bobFile = join(cluster.dir, 'bob.pem');
    expectOk(await cluster.tctl(['auth', 'sign', '--user=bob', '--format=file', `--out=${bobFile}`, '--ttl=1h', '--overwrite']));
    const out = await run('tsh', ['-i', bobFile, `--proxy=${cluster.proxyAddr}`, 'db', 'connect', '--db-name=metrics', 'metrics'], {
      env: { TELEPORT_HOME: join(cluster.dir, 'bob-home'), HOME: home, PGSERVICEFILE: join(cluster.dir, 'bob_service.conf') },
    });
    expectCliError(out, 'please provide the database user name using the --db-user flag (your roles allow bob, postgres)');
  });

  it('refuses a database she may not see as not found, and writes nothing', async () => {
    const before = readFileSync(serviceFile, 'utf8');
    expectCliError(await tsh(['db', 'login', 'secret']), 'database "secret" not found');
    expectCliError(await tsh(['db', 'login', 'x']), 'database "x" not found');
    expect(existsSync(join(keys, `alice-db/${CLUSTER}/secret-x509.pem`))).toBe(false);
    expect(readFileSync(serviceFile, 'utf8')).toBe(before);
  });

  it('creates ~/.pg_service.conf readable by her only when PGSERVICEFILE is not set', async () => {
    const otherHome = mkdtempSync(join(cluster.dir, 'home-'));
    expectOk(await cluster.tsh(['db', 'login', 'aurora'], { env: { HOME: otherHome, PGSERVICEFILE: '' } }));
    const file = join(otherHome, '.pg_service.conf');
    expect(readFileSync(file, 'utf8')).toBe(section('aurora', ['user=alice', 'dbname=metrics']));
    expect(mode(file)).toBe(0o600);
    expectOk(await cluster.tsh(['db', 'logout', 'aurora'], { env: { HOME: otherHome, PGSERVICEFILE: '' } }));
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('works from an identity file, with the files under TELEPORT_HOME for its user', async () => {
    const bobHome = join(cluster.dir, 'bob-home');
    mkdirSync(bobHome, { recursive: true });
    const bobServices = join(cluster.dir, 'bob_service.conf');
    const bob = (args: string[]) =>
      run('tsh', ['-i', join(cluster.dir, 'bob.pem'), `--proxy=${cluster.proxyAddr}`, ...args], {
        env: { TELEPORT_HOME: bobHome, HOME: home, PGSERVICEFILE: bobServices },
      });
    expectOk(await bob(['db', 'login', '--db-user=bob', 'metrics']));
    const bobKeys = join(bobHome, 'keys', '127.0.0.1');
    const route = parseUserIdentity(readFileSync(join(bobKeys, `bob-db/${CLUSTER}/metrics-x509.pem`), 'utf8')).dbRoute;
    expect(route).toEqual({ serviceName: 'metrics', protocol: 'postgres', username: 'bob', database: 'metrics' });
    expect(readFileSync(bobServices, 'utf8')).toContain(`[${CLUSTER}-metrics]\nhost=127.0.0.1\nport=${port}\nuser=bob\n`);
    expect(expectOk(await bob(['db', 'config', '--format=cmd']))).toBe(
      `psql "postgres://bob@127.0.0.1:${port}/metrics?sslrootcert=${bobKeys}/certs.pem&sslcert=${bobKeys}/bob-db/${CLUSTER}/metrics-x509.pem` +
        `&sslkey=${bobKeys}/bob&sslmode=verify-full&gssencmode=disable"\n`,
    );
    expect(expectOk(await bob(['db', 'logout']))).toBe('Logged out of database metrics\n');
  });
});

describe('tsh db env and tsh db config', () => {
  it('asks which database when she is logged in to several', async () => {
    expectCliError(await tsh(['db', 'env']), 'logged in to several databases (metrics, orders): name one with --db');
    expectCliError(await tsh(['db', 'config']), 'logged in to several databases (metrics, orders): name one as an argument');
    expectCliError(await tsh(['db', 'env', '--db=aurora']), 'not logged in to database "aurora": run \'tsh db login aurora\' first');
  });

  it('prints the libpq environment for one database', async () => {
    expect(expectOk(await tsh(['db', 'env', '--db', 'metrics']))).toBe(
      `export PGHOST=127.0.0.1\nexport PGPORT=${port}\nexport PGSSLMODE=verify-full\n` +
        `export PGSSLROOTCERT=${keys}/certs.pem\nexport PGSSLCERT=${keys}/alice-db/${CLUSTER}/metrics-x509.pem\n` +
        `export PGSSLKEY=${keys}/alice\nexport PGUSER=alice\nexport PGDATABASE=metrics\n`,
    );
    expect(expectOk(await tsh(['db', 'env', '--db', 'orders']))).toMatch(/\nexport PGUSER=alice\n$/);
  });

  it('prints where to connect and with which files', async () => {
    expect(expectOk(await tsh(['db', 'config', 'metrics']))).toBe(
      `Name:      metrics\nHost:      127.0.0.1\nPort:      ${port}\nUser:      alice\nDatabase:  metrics\n` +
        `CA:        ${keys}/certs.pem\nCert:      ${keys}/alice-db/${CLUSTER}/metrics-x509.pem\nKey:       ${keys}/alice\n`,
    );
    expect(expectOk(await tsh(['db', 'config', 'orders']))).toMatch(
      /^Name: {6}orders\nHost: {6}127\.0\.0\.1\nPort: {6}\d+\nUser: {6}alice\nDatabase:\nCA: /,
    );
    expect(JSON.parse(expectOk(await tsh(['db', 'config', 'metrics', '--format=json'])))).toEqual({
      name: 'metrics',
      service: `${CLUSTER}-metrics`,
      host: '127.0.0.1',
      port: Number(port),
      user: 'alice',
      database: 'metrics',
      ca: `${keys}/certs.pem`,
      cert: `${keys}/alice-db/${CLUSTER}/metrics-x509.pem`,
      key: `${keys}/alice`,
    });
    expectCliError(await tsh(['db', 'config', 'metrics', '--format=xml']), 'unsupported --format "xml": use text, cmd, json, yaml');
  });
});

describe('tsh db connect', () => {
  it('says so when psql is not on the PATH', async () => {
    const empty = mkdtempSync(join(cluster.dir, 'path-'));
    expectCliError(
      await tsh(['db', 'connect', 'metrics'], { PATH: empty }),
      "psql was not found on your PATH: install the PostgreSQL client, or use 'tsh db config' with another client",
    );
  });
});

describe('tsh db logout', () => {
  it('removes one database: its certificate and its section, nothing else', async () => {
    expect(expectOk(await tsh(['db', 'logout', 'metrics']))).toBe('Logged out of database metrics\n');
    expect(existsSync(join(keys, `alice-db/${CLUSTER}/metrics-x509.pem`))).toBe(false);
    expect(readFileSync(serviceFile, 'utf8')).toBe(`${OTHER_SECTION}\n${section('orders', ['user=alice'])}`);
    expectCliError(await tsh(['db', 'logout', 'metrics']), 'not logged in to database "metrics"');
  });

  it('removes every database without an argument', async () => {
    expectOk(await tsh(['db', 'login', 'metrics']));
    expect(expectOk(await tsh(['db', 'logout']))).toBe('Logged out of all databases\n');
    expect(readFileSync(serviceFile, 'utf8')).toBe(OTHER_SECTION);
    expectCliError(await tsh(['db', 'env']), "not logged in to any database: run 'tsh db login DB' first");
  });

  it('ends with a new tsh login, whose new key the old certificates do not match', async () => {
    expectOk(await tsh(['db', 'login', 'metrics']));
    expectOk(
      await cluster.tsh(['login', `--proxy=${cluster.proxyAddr}`, '--user=alice'], {
        input: PASSWORD + '\n',
        env: { HOME: home, PGSERVICEFILE: serviceFile },
      }),
    );
    expect(existsSync(join(keys, `alice-db/${CLUSTER}/metrics-x509.pem`))).toBe(false);
    expect(readFileSync(serviceFile, 'utf8')).toBe(OTHER_SECTION);
  });

  it('is part of tsh logout, which leaves the other sections alone', async () => {
    expectOk(await tsh(['db', 'login', 'metrics']));
    expectOk(await tsh(['logout']));
    expect(readFileSync(serviceFile, 'utf8')).toBe(OTHER_SECTION);
  });
});
