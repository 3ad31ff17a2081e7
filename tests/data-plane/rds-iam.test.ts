// RDS and Aurora PostgreSQL with IAM authentication (guide 002), against local stand-ins for AWS on
// loopback: an STS that verifies SigV4 and hands out role credentials, and an RDS endpoint that checks
// IAM tokens as RDS does before relaying to a real PostgreSQL. The Database Services find them only
// through their environment (AWS_ENDPOINT_URL_STS, credentials) and configuration (the endpoint's URI,
// the "RDS CA" file): no code path of theirs knows about the stand-ins.
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import type { PostgresCluster } from '#libs/testing';
import { awsEnv, clusterPostgresBackend, startTeleport } from '../support/aws/harness.js';
import { ACCOUNT, Iam, type AccessKey } from '../support/aws/iam.js';
import { rdsCertificates, RdsStandIn } from '../support/aws/rds.js';
import { StsStandIn } from '../support/aws/sts.js';
import { waitForSession } from '../support/audit-log.js';
import { TestCluster } from '../support/cluster.js';
import { loginUser, startClusterPostgres, tempDir, type RunningProcess } from '../support/data-plane.js';
import { psql } from '../support/psql.js';

const CLUSTER = 'rds';
const REGION = 'us-west-1';
const EXTERNAL_ID = 'example-external-id';

let cluster: TestCluster;
let pg: PostgresCluster;
let iam: Iam;
let hostKey: AccessKey;
let connectRole: string;
let untrustingRole: string;
let chainedRole: string;
let sts: StsStandIn;
let rds: RdsStandIn;
let rdsAhead: RdsStandIn;
let silent: Server;
let silentPort: number;
const silentSockets = new Set<Socket>();
let caFile: string;
let home: string;
let serviceFile: string;
const workers: RunningProcess[] = [];
let main: RunningProcess;
let noCredentials: RunningProcess;

async function dbToken(): Promise<string> {
  const out = await cluster.tctl(['tokens', 'add', '--type=db', '--format=text']);
  if (out.code !== 0) throw new Error(out.stderr);
  return out.stdout.trim();
}

/** `tsh db login <db>` then psql on the service section it saved, as the user `dbUser`. */
async function connect(db: string, dbUser: string, sql = 'select current_user') {
  const env = { HOME: home, PGSERVICEFILE: serviceFile };
  const login = await cluster.tsh(['db', 'login', `--db-user=${dbUser}`, '--db-name=postgres', db], { env });
  if (login.code !== 0) throw new Error(login.stderr);
  return psql(['-X', '-A', '-t', '-c', sql, `service=${CLUSTER}-${db} user=${dbUser} dbname=postgres`], { env });
}

const aws = (extra: Record<string, string> = {}) => ({ region: REGION, ...extra });

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  pg = await startClusterPostgres(cluster);
  await pg.psql('CREATE ROLE rds_iam; CREATE USER alice; GRANT rds_iam TO alice; CREATE USER bob;');
  const chainedUser = `arn:aws:iam::${ACCOUNT}:role/chained-db-user`;
  await pg.psql(`CREATE USER "${chainedUser}"; GRANT rds_iam TO "${chainedUser}";`);
  const dir = tempDir(cluster, 'rds-');
  home = tempDir(cluster, 'home-');
  serviceFile = join(home, 'pg_service.conf');

  iam = new Iam();
  hostKey = iam.user('database-service');
  connectRole = iam.role('rds-connect', { principals: [hostKey.arn], externalId: EXTERNAL_ID });
  // A database user that is itself an IAM role, trusting only the role the service assumes first.
  chainedRole = iam.role('chained-db-user', { principals: [connectRole] });
  untrustingRole = iam.role('database-user-role', { principals: [`arn:aws:iam::${ACCOUNT}:role/someone-else`] });
  sts = await new StsStandIn(iam).start();
  const certs = await rdsCertificates();
  caFile = join(dir, 'rds-ca.pem');
  writeFileSync(caFile, certs.caPem);
  const backend = clusterPostgresBackend(cluster, pg);
  rds = await RdsStandIn.start({ iam, region: REGION, backend, allowConnect: [hostKey.arn, connectRole, chainedRole] }, certs);
  // This endpoint's clock runs 20 minutes ahead: a token signed just now is, to it, past its
  // 15 minutes (X-Amz-Date + X-Amz-Expires). Nothing in the Database Service is changed for it.
  rdsAhead = await RdsStandIn.start({ iam, region: REGION, backend, allowConnect: [hostKey.arn], clockSkewMs: 20 * 60_000 }, certs);
  // Accepts TCP connections and never says a word: a database behind a firewall that drops packets.
  silent = createServer((socket) => silentSockets.add(socket));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentPort = (silent.address() as { port: number }).port;

  // One Database Service with the host credentials, from a teleport.yaml listing several databases.
  const tls = { ca_cert_file: caFile };
  const configFile = join(dir, 'teleport-db.yaml');
  writeFileSync(
    configFile,
    stringifyYaml({
      teleport: { data_dir: join(dir, 'db-main') },
      db_service: {
        enabled: 'yes',
        databases: [
          { name: 'rds-ok', protocol: 'postgres', uri: rds.endpoint, tls, aws: aws() },
          { name: 'rds-wrong-region', protocol: 'postgres', uri: rds.endpoint, tls, aws: { region: 'us-east-1' } },
          { name: 'rds-expired', protocol: 'postgres', uri: rdsAhead.endpoint, tls, aws: aws() },
          {
            name: 'rds-role',
            protocol: 'postgres',
            uri: rds.endpoint,
            tls,
            aws: aws({ assume_role_arn: connectRole, external_id: EXTERNAL_ID }),
          },
          { name: 'rds-role-denied', protocol: 'postgres', uri: rds.endpoint, tls, aws: aws({ assume_role_arn: untrustingRole }) },
          { name: 'rds-timeout', protocol: 'postgres', uri: `localhost:${silentPort}`, tls, aws: aws() },
        ],
      },
    }),
  );
  const up = 'the Database Service is up';
  main = await startTeleport(
    ['db', 'start', `--config=${configFile}`, `--token=${await dbToken()}`, `--proxy=${cluster.proxyAddr}`],
    awsEnv(dir, sts.url, hostKey),
    up,
  );
  workers.push(main);
  // The same access key with a wrong secret, and a host with no AWS credentials at all.
  const flags = async (name: string, dataDir: string) => [
    'db',
    'start',
    `--token=${await dbToken()}`,
    `--proxy=${cluster.proxyAddr}`,
    `--name=${name}`,
    '--protocol=postgres',
    `--uri=${rds.endpoint}`,
    `--aws-region=${REGION}`,
    `--ca-cert-file=${caFile}`,
    `--data-dir=${join(dir, dataDir)}`,
  ];
  const wrongSecret = { accessKeyId: hostKey.accessKeyId, secretAccessKey: 'not-the-secret' };
  workers.push(await startTeleport(await flags('rds-bad-secret', 'db-bad'), awsEnv(dir, sts.url, wrongSecret), up));
  noCredentials = await startTeleport(await flags('rds-no-creds', 'db-none'), awsEnv(dir, sts.url, undefined), up);
  workers.push(noCredentials);

  await loginUser(cluster, 'alice', ['--roles=access', `--db-users=alice,bob,${chainedRole}`, '--db-names=postgres']);
});

afterAll(async () => {
  for (const w of workers) await w.stop();
  for (const socket of silentSockets) socket.destroy();
  await Promise.all([rds?.stop(), rdsAhead?.stop(), sts?.stop(), new Promise((r) => silent?.close(r))]);
  await pg?.stop();
  await cluster?.stop();
});

describe('IAM authentication with the host credentials', () => {
  it('a session through the proxy: TLS verified against the RDS CA, the token accepted, the query answered', async () => {
    const out = await connect('rds-ok', 'alice');
    expect(out).toEqual({ code: 0, stdout: 'alice\n', stderr: '' });
    expect(rds.connections.at(-1)).toEqual({ user: 'alice', accepted: true, accessKeyId: hostKey.accessKeyId, principal: hostKey.arn });
  });

  it('its audit events say db_type rds with the fields of the guide', async () => {
    const log = await waitForSession(cluster, (s) => s.db_service === 'rds-ok' && s.success === true);
    const query = log.messages.find((m) => m.event.event === 'db.session.query')!.event;
    expect(query).toEqual(
      expect.objectContaining({
        cluster_name: CLUSTER,
        code: 'TDB02I',
        db_name: 'postgres',
        db_origin: expect.any(String),
        db_protocol: 'postgres',
        db_query: 'select current_user',
        db_roles: ['access'],
        db_service: 'rds-ok',
        db_type: 'rds',
        db_uri: rds.endpoint,
        db_user: 'alice',
        event: 'db.session.query',
        sid: log.sid,
        success: true,
        user: 'alice',
      }),
    );
    expect(log.messages.every((m) => m.event.db_type === 'rds')).toBe(true);
  });

  it('a database user without rds_iam: refused, with the grants to make and the resource ARN to allow', async () => {
    const out = await connect('rds-ok', 'bob');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(
      `the database at ${rds.endpoint} rejected IAM authentication as "bob" (PAM authentication failed for user "bob")`,
    );
    expect(out.stderr).toContain(`signed for region ${REGION} by ${hostKey.arn}`);
    expect(out.stderr).toContain('GRANT rds_iam TO "bob";');
    expect(out.stderr).toContain(`allow rds-db:connect on arn:aws:rds-db:${REGION}:${ACCOUNT}:dbuser:<resource-id>/bob`);
    expect(rds.connections.at(-1)).toMatchObject({ user: 'bob', accepted: false, reason: 'bob is not granted rds_iam' });
    expect(main.logs()).toContain('rejected IAM authentication as \\"bob\\" (PAM authentication failed'); // JSON log lines
  });

  it('a token signed for another region is refused, and the message names the region it was signed for', async () => {
    const out = await connect('rds-wrong-region', 'alice');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('rejected IAM authentication as "alice"');
    expect(out.stderr).toContain('the token was signed for region us-east-1');
    expect(out.stderr).toContain('check that aws.region is the database');
    expect(rds.connections.at(-1)).toMatchObject({ accepted: false, reason: `signed for region us-east-1, not ${REGION}` });
  });

  it('an expired token is refused', async () => {
    const out = await connect('rds-expired', 'alice');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`the database at ${rdsAhead.endpoint} rejected IAM authentication as "alice"`);
    expect(rdsAhead.connections).toEqual([expect.objectContaining({ accepted: false, reason: 'token expired' })]);
  });

  it('a token signed with a wrong secret key is refused', async () => {
    const out = await connect('rds-bad-secret', 'alice');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('rejected IAM authentication as "alice"');
    // STS refuses the wrong secret too, so the ARN cannot name the account.
    expect(out.stderr).toContain(`allow rds-db:connect on arn:aws:rds-db:${REGION}:<account-id>:dbuser:<resource-id>/alice`);
    expect(rds.connections.at(-1)).toMatchObject({ accepted: false, reason: 'signature does not match' });
  });

  it('no AWS credentials on the host: NoCredentialProviders, in the client and in the Database Service log', async () => {
    const before = rds.connections.length;
    const out = await connect('rds-no-creds', 'alice');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('NoCredentialProviders: no valid providers in chain');
    expect(out.stderr).toContain('give its host credentials allowed rds-db:connect');
    expect(noCredentials.logs()).toContain('NoCredentialProviders: no valid providers in chain');
    expect(rds.connections.length).toBe(before);
  });

  it('a database that does not answer: the timeout names its host and port', async () => {
    const started = Date.now();
    const out = await connect('rds-timeout', 'alice');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`timed out after 15s connecting to the database at localhost:${silentPort}`);
    expect(out.stderr).toContain(`nc -zv localhost ${silentPort}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(14_000);
  });
});

describe('aws.assume_role_arn and aws.external_id', () => {
  it('the role is assumed with the external id, and the token is signed with its credentials', async () => {
    const out = await connect('rds-role', 'alice');
    expect(out).toEqual({ code: 0, stdout: 'alice\n', stderr: '' });
    const assumed = sts.calls.filter((c) => c.action === 'AssumeRole' && c.roleArn === connectRole);
    expect(assumed).toEqual([expect.objectContaining({ callerArn: hostKey.arn, externalId: EXTERNAL_ID, region: REGION, outcome: 'ok' })]);
    const last = rds.connections.at(-1)!;
    expect(last.accepted).toBe(true);
    expect(last.accessKeyId).toMatch(/^ASIA/);
    expect(last.principal).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/rds-connect/${assumed[0]!.roleSessionName}`);
  });

  it('a second session reuses the cached role credentials: no second sts:AssumeRole', async () => {
    const out = await connect('rds-role', 'alice');
    expect(out.code).toBe(0);
    expect(sts.calls.filter((c) => c.action === 'AssumeRole' && c.roleArn === connectRole)).toHaveLength(1);
  });

  it("a database user that is an IAM role: role chaining, that role assumed with the first role's credentials", async () => {
    const out = await connect('rds-role', chainedRole);
    expect(out).toEqual({ code: 0, stdout: `${chainedRole}\n`, stderr: '' });
    const [first] = sts.calls.filter((c) => c.action === 'AssumeRole' && c.roleArn === connectRole);
    const chained = sts.calls.filter((c) => c.action === 'AssumeRole' && c.roleArn === chainedRole);
    expect(chained).toEqual([
      expect.objectContaining({ callerArn: `arn:aws:sts::${ACCOUNT}:assumed-role/rds-connect/${first!.roleSessionName}`, outcome: 'ok' }),
    ]);
    expect(chained[0]!.externalId).toBeUndefined();
    expect(rds.connections.at(-1)).toMatchObject({
      user: chainedRole,
      accepted: true,
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/chained-db-user/${chained[0]!.roleSessionName}`,
    });
  });

  it('a role whose trust policy does not name the host: AccessDenied naming the principal and the role', async () => {
    const out = await connect('rds-role-denied', 'alice');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(
      `AccessDenied: User: ${hostKey.arn} is not authorized to perform: sts:AssumeRole on resource: ${untrustingRole}`,
    );
    expect(out.stderr).toContain(`the trust policy of ${untrustingRole} must name that principal`);
  });
});
