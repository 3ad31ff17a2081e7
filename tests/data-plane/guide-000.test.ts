// Guide 000, "Database Access with Self-Hosted PostgreSQL", step by step with our binaries and the real
// psql: a join token saved to a file, alice with --db-users/--db-names "*", a PostgreSQL set up with the
// files of `tctl auth sign --format=db`, `teleport db configure create` then `teleport start --config`,
// `tsh login`, `tsh db ls`, `tsh db connect`, and `tsh db logout`. A psql script run through the proxy
// must print byte for byte what it prints against PostgreSQL directly.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startPostgres, type PostgresCluster } from '#libs/testing';
import { BIN, TestCluster, stopChild, type RunResult } from '../support/cluster.js';
import { directConnection } from '../support/data-plane.js';
import { expectOk } from '../support/elsewhere.js';
import { linkToken } from '../support/links.js';
import { psql } from '../support/psql.js';

const CLUSTER = 'guide-000';
const PASSWORD = 'alice-guide-password';
const SERVICE = `${CLUSTER}-example-postgres`;

let cluster: TestCluster;
let postgres: PostgresCluster;
let work: string;
let home: string;
let serviceFile: string;
let tokenFile: string;
let configFile: string;
let dbDataDir: string;
let dbService: ChildProcess | undefined;
let dbServiceLog = '';

/** tsh as alice on her workstation: her own HOME (no ~/.psqlrc), TELEPORT_HOME and service file. */
function tsh(args: string[], opts: { input?: string } = {}): Promise<RunResult> {
  return cluster.tsh(args, { ...opts, env: { HOME: home, PGSERVICEFILE: serviceFile, PSQLRC: join(home, 'no-psqlrc') } });
}

/** Polls `tsh db ls` until `done` holds of its output; bounded. */
async function dbLsUntil(done: (stdout: string) => boolean, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = expectOk(await tsh(['db', 'ls']));
    if (done(out)) return out;
    if (Date.now() > deadline) throw new Error(`tsh db ls did not change as expected within ${timeoutMs}ms:\n${out}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  work = mkdtempSync(join(cluster.dir, 'guide-'));
  home = mkdtempSync(join(cluster.dir, 'home-'));
  serviceFile = join(home, 'pg_service.conf');
  tokenFile = join(work, 'token');
  configFile = join(work, 'teleport-db.yaml');
  dbDataDir = join(work, 'db-data');
});
afterAll(async () => {
  if (dbService) await stopChild(dbService, 10_000);
  await postgres?.stop();
  await cluster?.stop();
});

describe('Step 1/5. Create a Teleport token and user', () => {
  it('tctl tokens add --type=db --format=text prints the token alone, which we save in a file', async () => {
    const out = expectOk(await cluster.tctl(['tokens', 'add', '--type=db', '--format=text']));
    expect(out).toMatch(/^[0-9a-f]{32,}\n$/);
    writeFileSync(tokenFile, out, { mode: 0o600 });
  });

  it('tctl users add alice --roles=access --db-users="*" --db-names="*", the password set through the signup link', async () => {
    const out = expectOk(await cluster.tctl(['users', 'add', 'alice', '--roles=access', '--db-users=*', '--db-names=*']));
    const set = await cluster.api('PUT', '/v1/webapi/users/password/token', { token: linkToken(out), password: PASSWORD });
    expect(set.status).toBe(200);
  });
});

describe('Step 2/5 and 3/5. A certificate/key pair; PostgreSQL configured with it', () => {
  it('tctl auth sign --format=db writes server.crt, server.key and server.cas; PostgreSQL starts with them', async () => {
    const out = join(work, 'server');
    const signed = expectOk(
      await cluster.tctl(['auth', 'sign', '--format=db', '--host=localhost,127.0.0.1', `--out=${out}`, '--ttl=2190h']),
    );
    expect(signed).toContain(`ssl = on\nssl_cert_file = '${out}.crt'\nssl_key_file = '${out}.key'\nssl_ca_file = '${out}.cas'\n`);
    expect(signed).toContain('hostssl all             all             0.0.0.0/0               cert\n');
    // ssl = on with these three files and pg_hba.conf 'hostssl all all ::/0 cert' / '0.0.0.0/0 cert': the harness's setup.
    postgres = await startPostgres({ tls: { certFile: `${out}.crt`, keyFile: `${out}.key`, caFile: `${out}.cas` } });
  });
});

describe('Step 4/5. Configure and start the Database Service', () => {
  it('teleport db configure create -o file:///... writes a teleport.yaml for the Database Service', async () => {
    const created = await new Promise<RunResult>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          BIN.teleport,
          'db',
          'configure',
          'create',
          '-o',
          `file://${configFile}`,
          `--token=${tokenFile}`,
          `--proxy=${cluster.proxyAddr}`,
          '--name=example-postgres',
          '--protocol=postgres',
          `--uri=localhost:${postgres.port}`,
          '--labels=env=dev',
          // Not in the guide: the default /var/lib/teleport would be shared with every other test run here.
          `--data-dir=${dbDataDir}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    expect(expectOk(created)).toBe(
      `Wrote config to file "${configFile}". Now you can start the server: teleport start --config="${configFile}"\n`,
    );
    const config = parseYaml(readFileSync(configFile, 'utf8')) as Record<string, any>;
    expect(config).toEqual({
      version: 'v3',
      teleport: { nodename: expect.any(String), data_dir: dbDataDir, proxy_server: cluster.proxyAddr, auth_token: tokenFile },
      db_service: {
        enabled: 'yes',
        databases: [{ name: 'example-postgres', protocol: 'postgres', uri: `localhost:${postgres.port}`, static_labels: { env: 'dev' } }],
      },
      auth_service: { enabled: 'no' },
      proxy_service: { enabled: 'no' },
      ssh_service: { enabled: 'no' },
    });
  });

  it('teleport start --config=<that file> joins with the token file and serves example-postgres', async () => {
    const child = spawn(process.execPath, [BIN.teleport, 'start', `--config=${configFile}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    dbService = child;
    child.stdout!.on('data', (d: Buffer) => (dbServiceLog += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (dbServiceLog += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!dbServiceLog.includes('the Database Service is up')) {
      if (child.exitCode !== null) throw new Error(`teleport start exited with ${child.exitCode}:\n${dbServiceLog}`);
      if (Date.now() > deadline) throw new Error(`teleport start did not come up in 60s:\n${dbServiceLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(dbServiceLog).toContain('serving example-postgres to cluster');
    // It kept what joining gave it in its own data dir, and started no NATS of its own.
    expect(existsSync(join(dbDataDir, 'db-identity.pem'))).toBe(true);
    expect(existsSync(join(dbDataDir, 'nats'))).toBe(false);
  });
});

describe('Step 5/5. Connect', () => {
  it('tsh login --proxy --user=alice', async () => {
    const out = expectOk(await tsh(['login', '--insecure', `--proxy=${cluster.proxyAddr}`, '--user=alice'], { input: `${PASSWORD}\n` }));
    expect(out).toContain(`> Profile URL:        https://${cluster.proxyAddr}\n`);
    expect(out).toMatch(/ {2}Logged in as: {7}alice\n/);
  });

  it('tsh db ls shows example-postgres with env=dev, in the table of the guide', async () => {
    const out = await dbLsUntil((o) => o.includes('example-postgres'), 15_000);
    expect(out).toBe(
      'Name             Description Labels\n' + '---------------- ----------- -------\n' + 'example-postgres             env=dev\n',
    );
  });

  it('tsh db connect --db-user=postgres --db-name=postgres example-postgres runs psql on the script given on stdin', async () => {
    const out = await tsh(['db', 'connect', '--db-user=postgres', '--db-name=postgres', 'example-postgres'], {
      input: "select current_user, current_database(), 'through the proxy' as how;\n\\q\n",
    });
    expect(out).toEqual({
      code: 0,
      stdout:
        ' current_user | current_database |        how        \n' +
        '--------------+------------------+-------------------\n' +
        ' postgres     | postgres         | through the proxy\n' +
        '(1 row)\n\n',
      stderr: '',
    });
    // It logged in to the database first: the section psql read is there.
    expect(readFileSync(serviceFile, 'utf8')).toContain(`[${SERVICE}]\nhost=127.0.0.1\nport=${cluster.proxyAddr.split(':')[1]}\n`);
  });

  it('tsh db connect passes psql exit code on: an error with ON_ERROR_STOP exits 3', async () => {
    const out = await tsh(['db', 'connect', '--db-user=postgres', '--db-name=postgres', 'example-postgres'], {
      input: '\\set ON_ERROR_STOP on\nselect * from no_such_table;\nselect 1;\n',
    });
    expect(out).toEqual({
      code: 3,
      stdout: '',
      stderr: 'ERROR:  relation "no_such_table" does not exist\nLINE 1: select * from no_such_table;\n                      ^\n',
    });
  });
});

// Every kind of exchange psql has: DDL, DML, aligned/expanded/unaligned output, a large result, \d
// (catalog queries), an error inside a transaction, COPY FROM STDIN and TO STDOUT, NOTICEs.
const SCRIPT = `\\pset null '(null)'
DROP TABLE IF EXISTS items;
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL UNIQUE, price numeric(10,2), tags text[], created date DEFAULT '2024-01-02');
CREATE INDEX items_price ON items (price);
COMMENT ON TABLE items IS 'guide 000 items';
INSERT INTO items (name, price, tags) VALUES ('apple', 1.25, '{fruit,red}'), ('bread', 3.10, '{bakery}'), ('cheese', NULL, '{}');
SELECT id, name, price, tags, created FROM items ORDER BY id;
\\x on
SELECT name, upper(name) AS shout, length(name) AS len FROM items WHERE price IS NOT NULL ORDER BY name;
\\x off
\\pset format unaligned
\\pset fieldsep '|'
SELECT g, md5(g::text) AS hash, repeat('x', g % 50) AS pad FROM generate_series(1, 2000) AS g;
\\pset format aligned
\\pset border 2
SELECT count(*) AS n, sum(price) AS total, string_agg(name, ', ' ORDER BY name) AS names FROM items;
\\pset border 1
\\d items
\\dt
BEGIN;
INSERT INTO items (name, price) VALUES ('durian', 9.99);
\\set ON_ERROR_STOP off
INSERT INTO items (name, price) VALUES ('apple', 0.5);
SELECT 'after the error' AS still;
\\set ON_ERROR_STOP on
ROLLBACK;
SELECT count(*) AS after_rollback FROM items;
COPY items (name, price, tags) FROM STDIN;
eggs\t2.40\t{dairy,protein}
flour\t\\N\t{bakery}
\\.
COPY (SELECT name, price, tags FROM items ORDER BY name) TO STDOUT WITH (FORMAT csv, HEADER);
DO $$
BEGIN
  RAISE NOTICE 'items now: %', (SELECT count(*) FROM items);
  RAISE WARNING 'a warning, %', 'with detail';
END
$$;
\\set ON_ERROR_STOP off
SELECT 1/0 AS boom;
\\set ON_ERROR_STOP on
SELECT name, price * 2 AS doubled FROM items WHERE name IN ('eggs', 'flour') ORDER BY name;
DROP TABLE items;
`;

describe('psql through the proxy prints what it prints against PostgreSQL directly', () => {
  let scriptFile: string;
  let direct: RunResult;

  beforeAll(async () => {
    scriptFile = join(work, 'script.sql');
    writeFileSync(scriptFile, SCRIPT);
    // Directly: TLS verified against the db CA, a db_client certificate for postgres.
    const dbCa = join(work, 'db-ca.pem');
    writeFileSync(dbCa, expectOk(await cluster.tctl(['auth', 'export', '--type=db'])));
    const conn = await directConnection(cluster, postgres, 'postgres');
    const ssl = conn.ssl as { cert: string; key: string };
    const cert = join(work, 'direct.crt');
    const key = join(work, 'direct.key');
    writeFileSync(cert, ssl.cert, { mode: 0o600 });
    writeFileSync(key, ssl.key, { mode: 0o600 });
    direct = await psql([
      '-X',
      '-v',
      'ON_ERROR_STOP=1',
      '-f',
      scriptFile,
      `host=127.0.0.1 port=${postgres.port} user=postgres dbname=postgres sslmode=verify-ca sslrootcert=${dbCa} sslcert=${cert} sslkey=${key}`,
    ]);
  });

  it('runs the script directly without failing (the baseline)', () => {
    expect(direct.code).toBe(0);
    expect(direct.stdout).toContain('eggs,2.40,"{dairy,protein}"\n');
    expect(direct.stdout).toContain('Table "public.items"\n');
    expect(direct.stdout).toContain('-[ RECORD 1 ]\nname  | apple\nshout | APPLE\nlen   | 5\n');
    expect(direct.stdout).toContain('\nCOPY 2\n');
    expect(direct.stdout).toContain(' after_rollback \n----------------\n              3\n');
    expect(direct.stdout.split('\n').filter((l) => /^\d+\|[0-9a-f]{32}\|x*$/.test(l))).toHaveLength(2000);
    expect(direct.stderr).toBe(
      `psql:${scriptFile}:2: NOTICE:  table "items" does not exist, skipping\n` +
        `psql:${scriptFile}:23: ERROR:  duplicate key value violates unique constraint "items_name_key"\n` +
        'DETAIL:  Key (name)=(apple) already exists.\n' +
        `psql:${scriptFile}:24: ERROR:  current transaction is aborted, commands ignored until end of transaction block\n` +
        `psql:${scriptFile}:38: NOTICE:  items now: 5\n` +
        `psql:${scriptFile}:38: WARNING:  a warning, with detail\n` +
        `psql:${scriptFile}:40: ERROR:  division by zero\n`,
    );
  });

  it('psql "service=<cluster>-example-postgres" -f script.sql: the same bytes on stdout and stderr, the same exit code', async () => {
    const proxied = await psql(['-X', '-v', 'ON_ERROR_STOP=1', '-f', scriptFile, `service=${SERVICE}`], {
      env: { PGSERVICEFILE: serviceFile, HOME: home },
    });
    expect(proxied.code).toBe(direct.code);
    expect(proxied.stderr).toBe(direct.stderr);
    expect(proxied.stdout).toBe(direct.stdout);
  });

  it('the same script on standard input of tsh db connect prints the same too', async () => {
    const viaTsh = await tsh(['db', 'connect', '--db-user=postgres', '--db-name=postgres', 'example-postgres'], { input: SCRIPT });
    const stdin = await psql(
      [
        `host=127.0.0.1 port=${postgres.port} user=postgres dbname=postgres sslmode=require sslcert=${join(work, 'direct.crt')} sslkey=${join(work, 'direct.key')}`,
      ],
      { input: SCRIPT, env: { HOME: home, PSQLRC: join(home, 'no-psqlrc') } },
    );
    expect(stdin.code).toBe(0);
    expect(viaTsh).toEqual(stdin);
  });
});

describe('Log out of the database', () => {
  it('tsh db logout example-postgres removes its certificate and its section', async () => {
    expect(expectOk(await tsh(['db', 'logout', 'example-postgres']))).toBe('Logged out of database example-postgres\n');
    expect(readFileSync(serviceFile, 'utf8')).toBe('');
    const again = await psql(['-X', '-c', 'select 1', `service=${SERVICE}`], { env: { PGSERVICEFILE: serviceFile, HOME: home } });
    expect(again).toEqual({ code: 2, stdout: '', stderr: `psql: error: definition of service "${SERVICE}" not found\n` });
  });

  it('stopping the Database Service (SIGTERM) ends it cleanly and takes example-postgres out of tsh db ls', async () => {
    const child = dbService!;
    await stopChild(child, 10_000);
    expect({ code: child.exitCode, signal: child.signalCode }).toEqual({ code: 0, signal: null });
    const out = await dbLsUntil((o) => !o.includes('example-postgres'), 3_000);
    expect(out).toBe('Name Description Labels\n---- ----------- ------\n');
  });
});
