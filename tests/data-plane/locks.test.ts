// Locks as Teleport has them: `tctl lock --user|--role [--message] [--ttl|--expires]`, `tctl get locks`,
// `tctl rm lock/NAME`. While a lock is in force its target gets no new database session (FATAL 28000
// with Teleport's `lock targeting ... is in force` message and a TDB00W db.session.start), no certificate
// (tsh login, tsh db login, tctl auth sign) and no API call; removing or outliving it lets them in at once.
// Sessions already open when a lock is created, the user is deleted or the roles stop allowing them
// are ended within seconds, with a FATAL saying why.
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseIdentityFile } from '#libs/pki';
import type { PostgresCluster } from '#libs/testing';
import { readAudit } from '../support/audit-log.js';
import { TestCluster, run, type RunResult } from '../support/cluster.js';
import { proxyConnection, startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';
import { expectCliError, expectOk, tctlElsewhere } from '../support/elsewhere.js';
import pg from 'pg';
import { connectFailure, queryOnce } from '../support/pg-client.js';
import { psql } from '../support/psql.js';

const CLUSTER = 'locks';
const CREATED = /^Created a lock with name "([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"\.\n$/;
const CONTRACTOR = `kind: role
version: v7
metadata: {name: contractor}
spec:
  allow:
    db_labels: {'*': '*'}
    db_users: ['{{internal.db_users}}']
    db_names: ['{{internal.db_names}}']
`;

let cluster: TestCluster;
let postgres: PostgresCluster;
let example: DbServiceProcess;

/** A Teleport user on a workstation of their own, logged in with `tsh login` and `tsh db login example`. */
interface Person {
  name: string;
  password: string;
  env: NodeJS.ProcessEnv;
  tsh(args: string[]): Promise<RunResult>;
  /** `psql "service=locks-example" -c "select current_user"` with the real psql. */
  psql(): Promise<RunResult>;
  /** What node-postgres sees through the proxy: the rows, or the refusal. */
  query(): Promise<unknown[]>;
  refused(): ReturnType<typeof connectFailure>;
}
let alice: Person;
let bob: Person;

async function person(name: string, flags: string[]): Promise<Person> {
  const password = `${name}-password-123`;
  await cluster.createUser(name, password, flags);
  const home = mkdtempSync(join(cluster.dir, `${name}-`));
  const serviceFile = join(home, 'pg_service.conf');
  const env = { TELEPORT_HOME: join(home, 'tsh'), HOME: home, PGSERVICEFILE: serviceFile };
  const tsh = (args: string[]) => run('tsh', args, { env });
  expectOk(await run('tsh', ['login', '--insecure', `--proxy=${cluster.proxyAddr}`, `--user=${name}`], { input: `${password}\n`, env }));
  expectOk(await tsh(['db', 'login', 'example']));
  const config = () => proxyConnection(serviceFile, `${CLUSTER}-example`);
  return {
    name,
    password,
    env,
    tsh,
    psql: () => psql(['-X', '-A', '-t', '-c', 'select current_user', `service=${CLUSTER}-example`], { env }),
    query: () => queryOnce(config(), 'select current_user'),
    refused: () => connectFailure(config()),
  };
}

/** `tctl lock ...` as the cluster's admin; resolves to the new lock's name. */
async function lock(args: string[]): Promise<string> {
  const out = expectOk(await cluster.tctl(['lock', ...args]));
  expect(out).toMatch(CREATED);
  return CREATED.exec(out)![1]!;
}

/** Polls the AUDIT stream until an event matches (they are stored asynchronously); bounded. */
async function auditEvent(match: (e: Record<string, any>) => boolean): Promise<{ subject: string; event: Record<string, any> }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = (await readAudit(cluster)).find((m) => match(m.event));
    if (found) return found;
    if (Date.now() > deadline) throw new Error('no matching audit event within 10s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A request to the proxy's API with the client certificate of an identity file; the status and the JSON body. */
function apiAs(identityFile: string, method: string, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const identity = parseIdentityFile(readFileSync(identityFile, 'utf8'));
  return new Promise((done, fail) => {
    const req = request(
      `https://${cluster.proxyAddr}${path}`,
      {
        method,
        cert: identity.certPem,
        key: identity.privateKeyPem,
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => done({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on('error', fail);
    req.end(JSON.stringify(body));
  });
}

/** An identity file for `name`, signed by the admin (as `tctl auth sign --user` does). */
async function identityOf(name: string): Promise<string> {
  const file = join(mkdtempSync(join(cluster.dir, 'id-')), `${name}.pem`);
  expectOk(await cluster.tctl(['auth', 'sign', `--user=${name}`, '--format=file', `--out=${file}`, '--ttl=1h']));
  return file;
}

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice; CREATE USER bob;');
  example = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}`, labels: 'env=dev' });
  expectOk(await cluster.tctl(['create'], { input: CONTRACTOR }));
  alice = await person('alice', ['--roles=access', '--db-users=alice', '--db-names=postgres']);
  bob = await person('bob', ['--roles=contractor', '--db-users=bob', '--db-names=postgres']);
});
afterAll(async () => {
  await example?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

describe('a lock on a user', () => {
  let id: string;

  it('is created by tctl lock, named by a UUID, and listed by tctl get locks', async () => {
    await expect(alice.query()).resolves.toEqual([{ current_user: 'alice' }]);
    id = await lock(['--user=alice', '--message=Suspicious activity.']);

    const yaml = expectOk(await cluster.tctl(['get', 'locks']));
    expect(yaml).toMatch(
      new RegExp(
        `^kind: lock\nversion: v2\nmetadata:\n  name: ${id}\nspec:\n  target:\n    user: alice\n  message: Suspicious activity\\.\n` +
          `  created_at: \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\n  created_by: admin\n$`,
      ),
    );
    expect(parseYaml(expectOk(await cluster.tctl(['get', `lock/${id}`])))).toEqual(parseYaml(yaml));
    expect(JSON.parse(expectOk(await cluster.tctl(['get', 'locks', '--format=json'])))).toEqual([parseYaml(yaml)]);
    expect(expectOk(await cluster.tctl(['get', 'locks', '--format=text']))).toBe(
      `ID${' '.repeat(35)}Target${' '.repeat(7)}Message${' '.repeat(14)}Expires\n` +
        `${'-'.repeat(36)} ${'-'.repeat(12)} ${'-'.repeat(20)} -------\n` +
        `${id} User:"alice" Suspicious activity. never\n`,
    );
  });

  it("refuses the user's new sessions with Teleport's message (FATAL 28000), and no one else's", async () => {
    const out = await alice.psql();
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('FATAL:  lock targeting User:"alice" is in force: Suspicious activity.\n');
    await expect(alice.refused()).resolves.toEqual({
      severity: 'FATAL',
      code: '28000',
      message: 'lock targeting User:"alice" is in force: Suspicious activity.',
    });
    await expect(bob.query()).resolves.toEqual([{ current_user: 'bob' }]);
  });

  it('is audited: lock.created by the admin (TLK00I), and each refused session as a TDB00W db.session.start', async () => {
    const created = await auditEvent((e) => e.event === 'lock.created' && e.name === id);
    expect(created.subject).toBe('audit.cluster.lock.created');
    expect(created.event).toEqual({
      ei: 0,
      event: 'lock.created',
      uid: expect.any(String),
      code: 'TLK00I',
      time: expect.any(String),
      cluster_name: CLUSTER,
      user: 'admin',
      name: id,
      updated_by: 'admin',
      target: { user: 'alice' },
      lock: { target: { user: 'alice' } },
    });
    const refused = await auditEvent((e) => e.event === 'db.session.start' && e.user === 'alice' && e.success === false);
    expect(refused.event).toMatchObject({
      code: 'TDB00W',
      db_service: 'example',
      db_user: 'alice',
      db_name: 'postgres',
      error: 'lock targeting User:"alice" is in force: Suspicious activity.',
      message: 'lock targeting User:"alice" is in force: Suspicious activity.',
    });
  });

  it('refuses the user certificates and API calls: tsh login, tsh db login, tctl auth sign --user', async () => {
    const message = 'ERROR: lock targeting User:"alice" is in force: Suspicious activity.\n';
    const elsewhere = { ...alice.env, TELEPORT_HOME: mkdtempSync(join(cluster.dir, 'alice-again-')) };
    const login = await run('tsh', ['login', '--insecure', `--proxy=${cluster.proxyAddr}`, '--user=alice'], {
      input: `${alice.password}\n`,
      env: elsewhere,
    });
    expect({ code: login.code, stderr: login.stderr }).toEqual({ code: 1, stderr: message });
    expectCliError(await alice.tsh(['db', 'login', 'example']), message.slice('ERROR: '.length, -1));
    expectCliError(await alice.tsh(['db', 'ls']), message.slice('ERROR: '.length, -1));
    expectCliError(
      await cluster.tctl(['auth', 'sign', '--user=alice', '--format=file', `--out=${join(cluster.dir, 'alice.pem')}`]),
      message.slice('ERROR: '.length, -1),
    );
  });

  it('is removed by tctl rm lock/NAME (audited as lock.deleted, TLK01I), and new sessions start again at once', async () => {
    expect(expectOk(await cluster.tctl(['rm', `lock/${id}`]))).toBe(`lock "${id}" has been deleted\n`);
    const out = await alice.psql();
    expect({ code: out.code, stdout: out.stdout }).toEqual({ code: 0, stdout: 'alice\n' });
    expect(JSON.parse(expectOk(await cluster.tctl(['get', 'locks', '--format=json'])))).toEqual([]);
    const deleted = await auditEvent((e) => e.event === 'lock.deleted' && e.name === id);
    expect(deleted.subject).toBe('audit.cluster.lock.deleted');
    expect(deleted.event).toMatchObject({ code: 'TLK01I', user: 'admin', cluster_name: CLUSTER, lock: { target: { user: 'alice' } } });
    expectCliError(await cluster.tctl(['rm', `lock/${id}`]), `lock "${id}" not found; 'tctl get locks' lists them`);
  });
});

it('a lock with --ttl stops being in force when it expires, and tctl get locks still shows it', async () => {
  const id = await lock(['--user=alice', '--ttl=4s']);
  await expect(alice.refused()).resolves.toMatchObject({ code: '28000', message: 'lock targeting User:"alice" is in force' });
  const [listed] = JSON.parse(expectOk(await cluster.tctl(['get', 'locks', '--format=json']))) as Array<{ spec: { expires: string } }>;
  const expires = Date.parse(listed!.spec.expires);
  await new Promise((r) => setTimeout(r, Math.max(0, expires - Date.now()) + 100));
  await expect(alice.query()).resolves.toEqual([{ current_user: 'alice' }]);
  expect(expectOk(await cluster.tctl(['get', 'locks', '--format=text']))).toMatch(
    new RegExp(`^${id} User:"alice"\\s+\\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d UTC\n$`, 'm'),
  );
  expectOk(await cluster.tctl(['rm', `lock/${id}`]));
});

it('a lock on a role applies to every user holding it', async () => {
  const id = await lock(['--role=contractor', '--message=All contractor access is disabled.']);
  await expect(bob.refused()).resolves.toEqual({
    severity: 'FATAL',
    code: '28000',
    message: 'lock targeting Role:"contractor" is in force: All contractor access is disabled.',
  });
  await expect(alice.query()).resolves.toEqual([{ current_user: 'alice' }]);
  expectOk(await cluster.tctl(['rm', `lock/${id}`]));
  await expect(bob.query()).resolves.toEqual([{ current_user: 'bob' }]);
});

/** A session of `who` (as database user `dbUser`) held open; `ended` resolves with the error the server ends it with, and when. */
async function openSession(who: Person, dbUser = who.name): Promise<{ ended: Promise<{ message: string; at: number }> }> {
  const client = new pg.Client(proxyConnection(who.env.PGSERVICEFILE!, `${CLUSTER}-example`));
  const ended = new Promise<{ message: string; at: number }>((resolve) =>
    client.on('error', (err: Error) => resolve({ message: err.message, at: Date.now() })),
  );
  await client.connect();
  await expect(client.query('select current_user')).resolves.toMatchObject({ rows: [{ current_user: dbUser }] });
  return { ended };
}

describe('open sessions end within seconds, saying why', () => {
  it('when a lock on the user is created', async () => {
    const session = await openSession(alice);
    const locked = Date.now();
    const id = await lock(['--user=alice', '--message=Session terminated by security.']);
    const { message, at } = await session.ended;
    expect(message).toBe('lock targeting User:"alice" is in force: Session terminated by security.');
    expect(at - locked).toBeLessThan(5_000);
    await expect(alice.refused()).resolves.toMatchObject({ code: '28000' });
    expectOk(await cluster.tctl(['rm', `lock/${id}`]));
    await expect(alice.query()).resolves.toEqual([{ current_user: 'alice' }]);
  });

  it('when a lock on one of their roles is created', async () => {
    const session = await openSession(bob);
    const id = await lock(['--role=contractor']);
    expect((await session.ended).message).toBe('lock targeting Role:"contractor" is in force');
    expectOk(await cluster.tctl(['rm', `lock/${id}`]));
  });

  it('when their role stops allowing the session', async () => {
    const session = await openSession(bob);
    const changed = Date.now();
    expectOk(await cluster.tctl(['create', '-f'], { input: CONTRACTOR.replace("db_labels: {'*': '*'}", 'db_labels: {env: prod}') }));
    const { message, at } = await session.ended;
    expect(message).toBe(
      'access to db denied. User does not have permissions. Confirm database user and name. (your roles changed during the session)',
    );
    expect(at - changed).toBeLessThan(5_000);
    expectOk(await cluster.tctl(['create', '-f'], { input: CONTRACTOR }));
    await expect(bob.query()).resolves.toEqual([{ current_user: 'bob' }]);
  });

  it('when the user is deleted (tctl users rm), and new sessions are refused', async () => {
    const carol = await person('carol', ['--roles=access', '--db-users=alice', '--db-names=postgres']);
    const session = await openSession(carol, 'alice');
    const removed = Date.now();
    expectOk(await cluster.tctl(['users', 'rm', 'carol']));
    const { message, at } = await session.ended;
    expect(message).toBe('your Teleport user "carol" was deleted');
    expect(at - removed).toBeLessThan(5_000);
    await expect(carol.refused()).resolves.toMatchObject({ code: '28000', message: 'user "carol" does not exist in this cluster' });
  });
});

describe('who may lock', () => {
  it('refuses a user whose roles have no rule on lock (access): 403 naming the rule, nothing created', async () => {
    const aliceId = await identityOf('alice');
    expectCliError(
      await tctlElsewhere(cluster, aliceId, ['lock', '--user=bob']),
      'access denied to perform action "create" on "lock": user "alice" has roles access',
    );
    const res = await apiAs(aliceId, 'PUT', '/v1/admin/locks?create=true', {
      kind: 'lock',
      version: 'v2',
      spec: { target: { user: 'bob' } },
    });
    expect(res).toEqual({
      status: 403,
      json: {
        error: { code: 'access_denied', message: 'access denied to perform action "create" on "lock": user "alice" has roles access' },
      },
    });
    expect(JSON.parse(expectOk(await cluster.tctl(['get', 'locks', '--format=json'])))).toEqual([]);
  });

  it('lets an editor lock and unlock; a locked editor can do nothing, not even remove the lock', async () => {
    await cluster.createUser('ed', 'ed-password-12345', ['--roles=editor']);
    const ed = await identityOf('ed');
    const out = expectOk(await tctlElsewhere(cluster, ed, ['lock', '--user=bob']));
    const onBob = CREATED.exec(out)![1]!;
    expect(expectOk(await tctlElsewhere(cluster, ed, ['rm', `lock/${onBob}`]))).toBe(`lock "${onBob}" has been deleted\n`);
    expect((await auditEvent((e) => e.event === 'lock.created' && e.name === onBob)).event).toMatchObject({ user: 'ed', updated_by: 'ed' });

    const onEd = await lock(['--user=ed', '--message=Under review.']);
    expectCliError(await tctlElsewhere(cluster, ed, ['rm', `lock/${onEd}`]), 'lock targeting User:"ed" is in force: Under review.');
    expectOk(await cluster.tctl(['rm', `lock/${onEd}`]));
  });
});

describe('tctl create of kind: lock, and what tctl lock refuses', () => {
  const LOCK = (message: string) =>
    `kind: lock\nversion: v2\nmetadata:\n  name: maintenance\nspec:\n  target:\n    role: contractor\n  message: ${message}\n  expires: "2099-01-01T00:00:00Z"\n`;

  it('creates, refuses to overwrite without -f, updates with -f, and the lock is in force', async () => {
    expect(expectOk(await cluster.tctl(['create'], { input: LOCK('Maintenance.') }))).toBe('lock "maintenance" has been created\n');
    expectCliError(
      await cluster.tctl(['create'], { input: LOCK('Maintenance.') }),
      `lock "maintenance" already exists; use 'tctl create -f' to overwrite it`,
    );
    expect(expectOk(await cluster.tctl(['create', '-f'], { input: LOCK('Back at noon.') }))).toBe('lock "maintenance" has been updated\n');
    await expect(bob.refused()).resolves.toMatchObject({ message: 'lock targeting Role:"contractor" is in force: Back at noon.' });
    expect(parseYaml(expectOk(await cluster.tctl(['get', 'lock/maintenance'])))).toMatchObject({
      spec: { target: { role: 'contractor' }, message: 'Back at noon.', expires: '2099-01-01T00:00:00.000Z', created_by: 'admin' },
    });
    expectOk(await cluster.tctl(['rm', 'lock/maintenance']));
  });

  it.each<[string, string[], string]>([
    ['no target', ['--message=x'], 'at least one target field must be set: --user=NAME or --role=NAME'],
    [
      'a target that does not exist here',
      ['--login=root'],
      'locks on a login are not supported here: lock a user (--user) or a role (--role)',
    ],
    ['both --expires and --ttl', ['--user=alice', '--ttl=1h', '--expires=2099-01-01T00:00:00Z'], 'use only one of --expires and --ttl'],
    [
      'an --expires that is not RFC 3339',
      ['--user=alice', '--expires=tomorrow'],
      'invalid --expires "tomorrow": use an RFC 3339 time, like 2030-01-02T15:04:05Z, or --ttl=DURATION',
    ],
  ])('refuses %s, saying what to do', async (_case, args, message) => {
    expectCliError(await cluster.tctl(['lock', ...args]), message);
  });

  it('refuses a lock file with a target of another kind', async () => {
    expectCliError(
      await cluster.tctl(['create'], { input: 'kind: lock\nversion: v2\nmetadata: {name: l}\nspec: {target: {node: abc}}\n' }),
      'invalid lock: spec.target.node: locks on a node are not supported here; lock a user or a role',
    );
  });
});
