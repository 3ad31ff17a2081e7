// Certificates as the Teleport guide uses them (seed 000, steps 2-3): a database server certificate
// from `tctl auth sign --format=db` that PostgreSQL serves and trusts the db_client CA with, client
// certificates from the db_client CA that PostgreSQL's `cert` auth accepts, and identity files that
// let tsh and tctl act from elsewhere.
import { readFileSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { busClient } from '../support/bus.js';
import { Rpc, type SignedCert } from '#libs/events';
import { createCa, generateKeyPair, signDbClientCert } from '#libs/pki';
import { startPostgres, type PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import { expectCliError, expectOk, openssl, tctlElsewhere, tshElsewhere } from '../support/elsewhere.js';

const HOUR_MS = 3_600_000;
const NO_IMPERSONATE_ROLE = `kind: role
version: v7
metadata:
  name: ca-reader
spec:
  allow:
    rules:
      - resources: [cert_authority, user]
        verbs: [list, read]
`;

let cluster: TestCluster;
let postgres: PostgresCluster | undefined;
let bus: Awaited<ReturnType<typeof busClient>> | undefined;
let dir: string;
let dbCa: string;

beforeAll(async () => {
  cluster = await TestCluster.start();
  dir = cluster.dir;
  expectOk(await cluster.tctl(['create'], { input: NO_IMPERSONATE_ROLE }));
  expectOk(await cluster.tctl(['users', 'add', 'alice', '--roles=access', '--db-users=alice', '--db-names=postgres']));
  expectOk(await cluster.tctl(['users', 'add', 'ed', '--roles=editor']));
  expectOk(await cluster.tctl(['users', 'add', 'carl', '--roles=ca-reader']));
  dbCa = expectOk(await cluster.tctl(['auth', 'export', '--type=db']));
  writeFileSync(join(dir, 'db-ca.pem'), dbCa);
});

afterAll(async () => {
  await bus?.nc.close();
  await postgres?.stop();
  await cluster?.stop();
});

/** `select current_user` over TLS as `user`, verifying the server against the db CA. */
async function currentUser(port: number, user: string, cert: string, key: string): Promise<string> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user,
    database: 'postgres',
    ssl: { ca: dbCa, cert, key, servername: 'localhost' },
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  try {
    const result = await client.query<{ current_user: string }>('select current_user');
    return result.rows[0]!.current_user;
  } finally {
    await client.end();
  }
}

/** The certificate's validity as openssl reads it. */
async function validity(certFile: string): Promise<{ notBefore: number; notAfter: number }> {
  const out = await openssl(['x509', '-noout', '-startdate', '-enddate', '-dateopt', 'iso_8601', '-in', certFile]);
  const date = (field: string) => Date.parse(new RegExp(`^${field}=(.+)$`, 'm').exec(out)![1]!.replace(' ', 'T'));
  return { notBefore: date('notBefore'), notAfter: date('notAfter') };
}

describe('tctl auth sign --format=db', () => {
  const server = () => ({ certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), caFile: join(dir, 'server.cas') });
  let signedAt: number;

  it('writes server.crt, server.key and server.cas and says how to configure PostgreSQL', async () => {
    signedAt = Date.now();
    const out = expectOk(
      await cluster.tctl(['auth', 'sign', '--format=db', '--host=localhost,127.0.0.1', `--out=${join(dir, 'server')}`, '--ttl=2190h']),
    );
    const { certFile, keyFile, caFile } = server();
    expect(out).toBe(
      `Database credentials have been written to ${keyFile}, ${certFile}, ${caFile}.\n\n` +
        `PostgreSQL reads the key only if the user it runs as owns it and nobody else may read it:\n\n` +
        `chown postgres:postgres ${keyFile} && chmod 600 ${keyFile}\n\n` +
        `To enable mutual TLS on your PostgreSQL server, add the following to its postgresql.conf configuration file:\n\n` +
        `ssl = on\nssl_cert_file = '${certFile}'\nssl_key_file = '${keyFile}'\nssl_ca_file = '${caFile}'\n\n` +
        `To enable client certificate authentication on your PostgreSQL server, add the following to its pg_hba.conf configuration file:\n\n` +
        `hostssl all             all             ::/0                    cert\nhostssl all             all             0.0.0.0/0               cert\n`,
    );
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
  });

  it('signs server.crt with the db CA, for the hosts given, valid for the TTL given', async () => {
    const { certFile } = server();
    expect(await openssl(['verify', '-CAfile', join(dir, 'db-ca.pem'), certFile])).toBe(`${certFile}: OK\n`);
    expect(await openssl(['x509', '-noout', '-ext', 'subjectAltName,extendedKeyUsage', '-in', certFile])).toBe(
      'X509v3 Extended Key Usage: \n    TLS Web Server Authentication\n' +
        'X509v3 Subject Alternative Name: \n    DNS:localhost, IP Address:127.0.0.1\n',
    );
    const { notBefore, notAfter } = await validity(certFile);
    // openssl prints whole seconds; notBefore is backdated by up to a minute for clock skew
    expect(Math.abs(notAfter - notBefore - 2190 * HOUR_MS)).toBeLessThanOrEqual(2 * 60_000);
    expect(Math.abs(notAfter - (signedAt + 2190 * HOUR_MS))).toBeLessThanOrEqual(60_000);
    expect(notBefore).toBeLessThanOrEqual(signedAt);
  });

  it('replaces existing files only with --overwrite (without a terminal to ask on)', async () => {
    const { certFile, keyFile } = server();
    const [cert, key] = [readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8')];
    const sign = (...extra: string[]) =>
      cluster.tctl(['auth', 'sign', '--format=db', '--host=localhost', `--out=${join(dir, 'server')}`, '--ttl=1h', ...extra]);
    expectCliError(await sign(), `not overwriting ${certFile}, ${keyFile}, ${join(dir, 'server.cas')}: pass --overwrite to replace them`);
    expect([readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8')]).toEqual([cert, key]);
    expectOk(await sign('--overwrite'));
    expect(readFileSync(keyFile, 'utf8')).not.toBe(key);
    // What the next tests check is the first certificate, for both hosts and 2190h.
    expectOk(
      await cluster.tctl([
        'auth',
        'sign',
        '--format=db',
        '--host=localhost,127.0.0.1',
        `--out=${join(dir, 'server')}`,
        '--ttl=2190h',
        '--overwrite',
      ]),
    );
  });

  it('puts the db_client CA in server.cas, as tctl auth export --type=db-client prints it', async () => {
    const exported = expectOk(await cluster.tctl(['auth', 'export', '--type=db-client']));
    expect(exported).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    expect(readFileSync(server().caFile, 'utf8')).toBe(exported);
    expect(exported).not.toBe(dbCa);
  });

  describe('PostgreSQL configured with those files', () => {
    beforeAll(async () => {
      postgres = await startPostgres({ tls: server() });
      await postgres.psql('CREATE USER alice');
      bus = await busClient(cluster);
    });

    async function dbClientCert(dbUser: string): Promise<{ cert: string; key: string; reply: SignedCert }> {
      const keys = await generateKeyPair();
      const reply = await bus!.rpc.call<SignedCert>(Rpc.Auth.SignDbClient, {
        db_user: dbUser,
        public_key: keys.publicKeyPem,
        ttl_ms: HOUR_MS,
      });
      return { cert: reply.cert, key: keys.privateKeyPem, reply };
    }

    it('accepts a client certificate for alice from the db_client CA, and the client verifies the server against the db CA', async () => {
      expect(Rpc.Auth.SignDbClient).toBe('auth.certs.sign-db-client');
      const { cert, key, reply } = await dbClientCert('alice');
      expect(reply.cas).toEqual({ db: [dbCa] });
      await expect(currentUser(postgres!.port, 'alice', cert, key)).resolves.toBe('alice');
    });

    it("refuses alice's certificate for another database user", async () => {
      const { cert, key } = await dbClientCert('alice');
      await expect(currentUser(postgres!.port, 'postgres', cert, key)).rejects.toThrow(
        'certificate authentication failed for user "postgres"',
      );
    });

    it('refuses a client certificate for alice signed by another CA', async () => {
      const other = await createCa('db_client', 'other');
      const keys = await generateKeyPair();
      const cert = signDbClientCert(other, keys.publicKeyPem, { dbUser: 'alice', ttlMs: HOUR_MS });
      await expect(currentUser(postgres!.port, 'alice', cert, keys.privateKeyPem)).rejects.toThrow(/tlsv1 alert unknown ca/);
    });

    it('is not reached by a client that trusts only another CA for the server', async () => {
      const { cert, key } = await dbClientCert('alice');
      const other = await createCa('db', 'other');
      const client = new pg.Client({
        host: '127.0.0.1',
        port: postgres!.port,
        user: 'alice',
        database: 'postgres',
        ssl: { ca: other.certPem, cert, key, servername: 'localhost' },
        connectionTimeoutMillis: 10_000,
      });
      await expect(client.connect()).rejects.toThrow('unable to verify the first certificate');
    });
  });
});

describe('tctl auth sign --format=file', () => {
  const aliceFile = () => join(dir, 'alice.pem');

  let signedAt: number;

  it('writes an identity file readable only by its owner', async () => {
    signedAt = Date.now();
    const out = expectOk(await cluster.tctl(['auth', 'sign', '--user=alice', '--format=file', `--out=${aliceFile()}`, '--ttl=1h']));
    expect(out).toBe(`The credentials have been written to ${aliceFile()}\n`);
    expect(statSync(aliceFile()).mode & 0o777).toBe(0o600);
  });

  it('lets tsh -i show who it is for, valid for the TTL given', async () => {
    const out = expectOk(await tshElsewhere(cluster, aliceFile(), ['status']));
    const status = new RegExp(
      `^> Profile URL:        https://${cluster.proxyAddr.replaceAll('.', '\\.')}\n` +
        '  Logged in as:       alice\n' +
        '  Roles:              access\n' +
        '  Database users:     alice\n' +
        '  Database names:     postgres\n' +
        '  Valid until:        (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d) \\+0000 UTC \\[valid for (1h|5\\dm(\\d{1,2}s)?)\\]\n$',
    );
    expect(out).toMatch(status);
    const until = Date.parse(`${status.exec(out)![1]!.replace(' ', 'T')}Z`);
    expect(Math.abs(until - (signedAt + HOUR_MS))).toBeLessThanOrEqual(60_000);
  });

  it('lets an editor run tctl from elsewhere with only -i and --auth-server', async () => {
    const edFile = join(dir, 'ed.pem');
    expectOk(await cluster.tctl(['auth', 'sign', '--user=ed', '--format=file', `--out=${edFile}`, '--ttl=1h']));
    const out = expectOk(await tctlElsewhere(cluster, edFile, ['users', 'ls']));
    expect(out).toBe('User  Roles\n----- ---------\nalice access\ncarl  ca-reader\ned    editor\n');
  });

  it('refuses tctl users ls to a user with only the access role', async () => {
    expectCliError(
      await tctlElsewhere(cluster, aliceFile(), ['users', 'ls']),
      'access denied to perform action "list" on "user": user "alice" has roles access',
    );
  });

  it('lets an editor sign a database certificate through an identity file (editor may impersonate Db)', async () => {
    const out = join(dir, 'by-editor');
    const signed = expectOk(
      await tctlElsewhere(cluster, join(dir, 'ed.pem'), ['auth', 'sign', '--format=db', '--host=db.example.com', `--out=${out}`]),
    );
    expect(signed).toMatch(/^Database credentials have been written to /);
    expect(await openssl(['verify', '-CAfile', join(dir, 'db-ca.pem'), `${out}.crt`])).toBe(`${out}.crt: OK\n`);
    expect(await openssl(['x509', '-noout', '-ext', 'subjectAltName', '-in', `${out}.crt`])).toBe(
      'X509v3 Subject Alternative Name: \n    DNS:db.example.com\n',
    );
  });

  it('refuses a database certificate to a user whose roles do not allow impersonating Db, and writes nothing', async () => {
    const carlFile = join(dir, 'carl.pem');
    expectOk(await cluster.tctl(['auth', 'sign', '--user=carl', '--format=file', `--out=${carlFile}`, '--ttl=1h']));
    const out = join(dir, 'by-carl');
    expectCliError(
      await tctlElsewhere(cluster, carlFile, ['auth', 'sign', '--format=db', '--host=db.example.com', `--out=${out}`]),
      `user "carl" may not impersonate the system role Db; add 'impersonate: {users: ["Db"], roles: ["Db"]}' to one of their roles' allow rules`,
    );
    for (const ext of ['crt', 'key', 'cas']) expect(existsSync(`${out}.${ext}`)).toBe(false);
  });

  it('signs a database certificate for a user whose only permission is impersonating Db, as the guide sets up', async () => {
    expectOk(
      await cluster.tctl(['create'], {
        input:
          'kind: role\nversion: v7\nmetadata:\n  name: db-signer\nspec:\n  allow:\n    impersonate:\n      users: ["Db"]\n      roles: ["Db"]\n',
      }),
    );
    expectOk(await cluster.tctl(['users', 'add', 'dana', '--roles=db-signer']));
    const danaFile = join(dir, 'dana.pem');
    expectOk(await cluster.tctl(['auth', 'sign', '--user=dana', '--format=file', `--out=${danaFile}`, '--ttl=1h']));
    const out = join(dir, 'by-dana');
    expect(
      expectOk(await tctlElsewhere(cluster, danaFile, ['auth', 'sign', '--format=db', '--host=db.example.com', `--out=${out}`])),
    ).toMatch(/^Database credentials have been written to /);
    expect(await openssl(['verify', '-CAfile', join(dir, 'db-ca.pem'), `${out}.crt`])).toBe(`${out}.crt: OK\n`);
  });
});
