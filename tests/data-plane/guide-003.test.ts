// Guide 003, "Teleport Database Access Preview" with AWS Aurora, as written: the whole cluster and the
// Database Service from one `teleport start --roles=proxy,auth,db --db-...` command, the legacy
// `tctl users add alice root --db-names --db-users`, `tsh login --insecure`, `tsh db ls`,
// `tsh db login aurora`, then `psql "service=<cluster>-aurora user=alice dbname=postgres"`.
// Aurora is the loopback RDS stand-in (tests/support/aws/rds.ts) and STS its stand-in too; the
// process finds them through its environment only: AWS credentials, AWS_ENDPOINT_URL_STS, and the
// stand-in's "RDS CA" in NODE_EXTRA_CA_CERTS (the guide's command names no CA file).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, httpsInsecure, type PostgresCluster } from '#libs/testing';
import { awsEnv, standalonePostgresBackend, startTeleport } from '../support/aws/harness.js';
import { Iam } from '../support/aws/iam.js';
import { rdsCertificates, RdsStandIn } from '../support/aws/rds.js';
import { StsStandIn } from '../support/aws/sts.js';
import { waitForSession } from '../support/audit-log.js';
import { run, type RunResult } from '../support/cluster.js';
import type { RunningProcess } from '../support/data-plane.js';
import { expectOk } from '../support/elsewhere.js';
import { linkToken } from '../support/links.js';
import { psql } from '../support/psql.js';

const CLUSTER = 'aurora-guide';
const PASSWORD = 'alice-aurora-password';

let dir: string;
let natsUrl: string;
let pg: PostgresCluster;
let sts: StsStandIn;
let rds: RdsStandIn;
let teleport: RunningProcess;
let configFile: string;
let proxyPort: number;
let home: string;
let serviceFile: string;

const tctl = (args: string[]) => run('tctl', ['-c', configFile, ...args], { env: { TELEPORT_HOME: join(dir, 'admin') } });
const tsh = (args: string[], input?: string): Promise<RunResult> =>
  run('tsh', args, { env: { TELEPORT_HOME: join(home, '.tsh'), HOME: home, PGSERVICEFILE: serviceFile }, ...(input ? { input } : {}) });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dbaccess-guide-003-'));
  home = mkdtempSync(join(dir, 'home-'));
  serviceFile = join(home, 'pg_service.conf');
  const iam = new Iam();
  const hostKey = iam.user('teleport-host');
  sts = await new StsStandIn(iam).start();
  const backend = await standalonePostgresBackend(dir);
  pg = backend.pg;
  await pg.psql('CREATE ROLE rds_iam; CREATE USER alice; GRANT rds_iam TO alice;');
  const certs = await rdsCertificates();
  const caFile = join(dir, 'rds-ca.pem');
  writeFileSync(caFile, certs.caPem);
  rds = await RdsStandIn.start({ iam, region: 'us-west-1', backend: backend.backend, allowConnect: [hostKey.arn] }, certs);

  // Not in the guide: where this test's process keeps its state and listens, instead of
  // /var/lib/teleport, port 3080 and a NATS of its own on 4222, which others on this machine use.
  proxyPort = await freePort();
  natsUrl = `nats://127.0.0.1:${await freePort()}`;
  configFile = join(dir, 'teleport.yaml');
  writeFileSync(
    configFile,
    `teleport:\n  data_dir: ${join(dir, 'data')}\n  nats:\n    listen_addr: ${natsUrl.slice('nats://'.length)}\n` +
      `auth_service:\n  cluster_name: ${CLUSTER}\nproxy_service:\n  web_listen_addr: 127.0.0.1:${proxyPort}\n`,
  );
  teleport = await startTeleport(
    [
      'start',
      `--config=${configFile}`,
      '--roles=proxy,auth,db',
      '--db-name=aurora',
      '--db-protocol=postgres',
      `--db-uri=${rds.endpoint}`,
      '--db-aws-region=us-west-1',
    ],
    { ...awsEnv(dir, sts.url, hostKey), NODE_EXTRA_CA_CERTS: caFile },
    'the Database Service is up',
  );
});

afterAll(async () => {
  await teleport?.stop();
  await Promise.all([rds?.stop(), sts?.stop()]);
  await pg?.stop();
});

describe('Step 2/3. Setup Teleport', () => {
  it('teleport start --roles=proxy,auth,db --db-name --db-protocol --db-uri --db-aws-region runs everything in one process', () => {
    expect(teleport.logs()).toContain('serving aurora to cluster');
    expect(teleport.process.exitCode).toBeNull();
  });

  it('tctl users add alice root --db-names=postgres --db-users=alice creates alice (legacy form: role access, logins root)', async () => {
    const out = expectOk(await tctl(['users', 'add', 'alice', 'root', '--db-names=postgres', '--db-users=alice']));
    const set = await httpsInsecure(`https://127.0.0.1:${proxyPort}/v1/webapi/users/password/token`, 'PUT', {
      token: linkToken(out),
      password: PASSWORD,
    });
    expect(set.status).toBe(200);
    const users = JSON.parse(expectOk(await tctl(['users', 'ls', '--format=json']))) as Array<{ name: string; roles: string[] }>;
    expect(users.find((u) => u.name === 'alice')?.roles).toEqual(['access']);
  });
});

describe('Step 3/3. Connect to Database', () => {
  it('tsh login --insecure --proxy=localhost:<port> --user=alice', async () => {
    const out = expectOk(await tsh(['login', '--insecure', `--proxy=localhost:${proxyPort}`, '--user=alice'], `${PASSWORD}\n`));
    expect(out).toMatch(/ {2}Logged in as: {7}alice\n/);
  });

  it('tsh db ls shows aurora; tsh db login aurora saves the service section', async () => {
    expect(expectOk(await tsh(['db', 'ls']))).toContain('aurora');
    expectOk(await tsh(['db', 'login', 'aurora']));
  });

  it('psql "service=<cluster>-aurora user=alice dbname=postgres" reaches Aurora with an IAM token', async () => {
    const out = await psql(
      ['-X', '-A', '-t', '-c', 'select current_user, current_database()', `service=${CLUSTER}-aurora user=alice dbname=postgres`],
      {
        env: { HOME: home, PGSERVICEFILE: serviceFile },
      },
    );
    expect(out).toEqual({ code: 0, stdout: 'alice|postgres\n', stderr: '' });
    expect(rds.connections).toEqual([
      expect.objectContaining({ user: 'alice', accepted: true, principal: expect.stringContaining('user/teleport-host') }),
    ]);
  });

  it('tsh play --format json shows the session with db_type rds and the fields of the guide', async () => {
    const log = await waitForSession(
      { nats: { url: natsUrl }, dataDir: join(dir, 'data') },
      (s) => s.db_service === 'aurora' && s.success === true,
    );
    let events: Array<Record<string, unknown>> = [];
    for (let tries = 0; tries < 50 && events.length < log.messages.length; tries++) {
      const played = await tsh(['play', '--format=json', log.sid]);
      if (played.code === 0) events = JSON.parse(played.stdout) as typeof events;
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect(events.map((e) => e.event)).toEqual(['db.session.start', 'db.session.query', 'db.session.result', 'db.session.end']);
    const common = { sid: log.sid, cluster_name: CLUSTER, user: 'alice', db_service: 'aurora', db_protocol: 'postgres', db_type: 'rds' };
    expect(events[0]).toMatchObject({ ...common, code: 'TDB00I', db_uri: rds.endpoint, db_user: 'alice', db_name: 'postgres' });
    // The guide's example: a query event with exactly these fields.
    expect(Object.keys(events[1]!).sort()).toEqual(
      expect.arrayContaining(
        [
          'cluster_name',
          'code',
          'db_name',
          'db_protocol',
          'db_query',
          'db_roles',
          'db_service',
          'db_type',
          'db_uri',
          'db_user',
          'ei',
          'event',
          'sid',
          'success',
          'time',
          'uid',
          'user',
        ].sort(),
      ),
    );
    expect(events[1]).toMatchObject({
      ...common,
      code: 'TDB02I',
      db_query: 'select current_user, current_database()',
      db_user: 'alice',
      db_name: 'postgres',
      db_roles: ['access'],
      ei: 1,
      success: true,
    });
  });
});
