// RBAC on the wire: roles created with `tctl create` decide, for each connection through the proxy,
// whether the database user and database name of the StartupMessage may be used on that database
// (TELEPORT-FACTS.md section 4). Allowed sessions run `select current_user`; denied ones get one FATAL
// ErrorResponse with SQLSTATE 28000 and Teleport's message, and leave a TDB00W db.session.start event.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresCluster } from '#libs/testing';
import { TestCluster, run, type RunResult } from '../support/cluster.js';
import { readStream } from '../support/cluster-stream.js';
import { proxyConnection, startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';
import { expectCliError, expectOk } from '../support/elsewhere.js';
import { connectFailure, queryOnce } from '../support/pg-client.js';

const CLUSTER = 'rbac';
const DENIED = 'access to db denied. User does not have permissions. Confirm database user and name.';

const ROLES = `kind: role
version: v7
metadata: {name: dev-app}
spec:
  allow:
    db_labels: {env: dev}
    db_users: [alice, reader]
    db_names: [app]
---
kind: role
version: v7
metadata: {name: prod-reader}
spec:
  allow:
    db_labels: {env: prod}
    db_users: [reader]
    db_names: ['*']
---
kind: role
version: v7
metadata: {name: everything}
spec:
  allow:
    db_labels: {'*': '*'}
    db_users: ['*']
    db_names: ['*']
---
kind: role
version: v7
metadata: {name: no-postgres}
spec:
  deny:
    db_users: [postgres]
---
kind: role
version: v7
metadata: {name: from-traits}
spec:
  allow:
    db_labels: {env: [dev, prod]}
    db_users: ['{{internal.db_users}}']
    db_names: ['{{internal.db_names}}', postgres]
---
kind: role
version: v7
metadata: {name: guard}
spec: {}
`;

const GUARD_DENIES_PROD = `kind: role
version: v7
metadata: {name: guard}
spec:
  deny:
    db_labels: {env: prod}
`;

const TABLES = {
  dev: 'Name   Description Labels\n' + '------ ----------- -------\n' + 'dev-db Development env=dev\n',
  prod: 'Name    Description Labels\n' + '------- ----------- --------\n' + 'prod-db Production  env=prod\n',
  both:
    'Name    Description Labels\n' + '------- ----------- --------\n' + 'dev-db  Development env=dev\n' + 'prod-db Production  env=prod\n',
};

let cluster: TestCluster;
let postgres: PostgresCluster;
const services: DbServiceProcess[] = [];

/** A Teleport user on a workstation of their own: TELEPORT_HOME, HOME and service file. */
interface Person {
  name: string;
  tsh(args: string[]): Promise<RunResult>;
  /** Connects through the proxy with what `tsh db login <db>` saved, as `user` to `database`. */
  connect(
    db: string,
    user: string,
    database: string,
  ): { query: () => Promise<unknown[]>; refused: () => ReturnType<typeof connectFailure> };
}

async function person(name: string, flags: string[]): Promise<Person> {
  const password = `${name}-password-123`;
  await cluster.createUser(name, password, flags);
  const home = mkdtempSync(join(cluster.dir, `${name}-`));
  const serviceFile = join(home, 'pg_service.conf');
  const env = { TELEPORT_HOME: join(home, 'tsh'), HOME: home, PGSERVICEFILE: serviceFile };
  const login = await run('tsh', ['login', '--insecure', `--proxy=${cluster.proxyAddr}`, `--user=${name}`], {
    input: `${password}\n`,
    env,
  });
  expect(login).toMatchObject({ code: 0, stderr: '' });
  return {
    name,
    tsh: (args) => run('tsh', args, { env }),
    connect: (db, user, database) => {
      const config = () => proxyConnection(serviceFile, `${CLUSTER}-${db}`, { user, database });
      return {
        query: () => queryOnce(config(), 'select current_user'),
        refused: () => connectFailure(config()),
      };
    },
  };
}

/** Every connection of `allowed` runs as its db user; every one of `denied` is refused with Teleport's message. */
async function expectAccess(p: Person, db: string, allowed: [string, string][], denied: [string, string][]): Promise<void> {
  for (const [user, database] of allowed) {
    await expect(p.connect(db, user, database).query()).resolves.toEqual([{ current_user: user }]);
  }
  for (const [user, database] of denied) {
    expect({ user, database, ...(await p.connect(db, user, database).refused()) }).toEqual({
      user,
      database,
      severity: 'FATAL',
      code: '28000',
      message: DENIED,
    });
  }
}

/** The AUDIT stream's events, parsed. */
async function auditEvents(): Promise<Record<string, unknown>[]> {
  return (await readStream(cluster, 'AUDIT')).map((m) => JSON.parse(m.body) as Record<string, unknown>);
}

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice; CREATE USER reader; CREATE USER bob;');
  await postgres.psql('CREATE DATABASE app; CREATE DATABASE metrics;');
  const uri = `localhost:${postgres.port}`;
  services.push(await startDbService(cluster, { name: 'dev-db', uri, labels: 'env=dev', description: 'Development' }));
  services.push(await startDbService(cluster, { name: 'prod-db', uri, labels: 'env=prod', description: 'Production' }));
  expectOk(await cluster.tctl(['create'], { input: ROLES }));
});
afterAll(async () => {
  for (const service of services) await service.stop();
  await postgres?.stop();
  await cluster?.stop();
});

describe('allow by labels, db_users and db_names (role dev-app: env=dev, users alice and reader, name app)', () => {
  let dana: Person;
  beforeAll(async () => {
    dana = await person('dana', ['--roles=dev-app']);
  });

  it('tsh db ls shows dev-db only; tsh db login prod-db says it does not exist', async () => {
    expect(expectOk(await dana.tsh(['db', 'ls']))).toBe(TABLES.dev);
    expectCliError(await dana.tsh(['db', 'login', 'prod-db']), 'database "prod-db" not found');
  });

  it('connects as alice or reader to app; any other db user or db name is denied', async () => {
    expectOk(await dana.tsh(['db', 'login', 'dev-db']));
    await expectAccess(
      dana,
      'dev-db',
      [
        ['alice', 'app'],
        ['reader', 'app'],
      ],
      [
        ['postgres', 'app'],
        ['bob', 'app'],
        ['alice', 'postgres'],
        ['reader', 'metrics'],
      ],
    );
  });

  it('a denied start is a db.session.start event with code TDB00W in the AUDIT stream', async () => {
    const denied = (await auditEvents()).filter(
      (e) => e.event === 'db.session.start' && e.user === 'dana' && e.db_user === 'postgres' && e.db_name === 'app',
    );
    expect(denied).toEqual([
      {
        ei: 0,
        event: 'db.session.start',
        uid: expect.stringMatching(/^[0-9a-f-]{36}$/),
        code: 'TDB00W',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        cluster_name: CLUSTER,
        sid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        user: 'dana',
        'addr.remote': expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        db_service: 'dev-db',
        db_protocol: 'postgres',
        db_uri: `localhost:${postgres.port}`,
        db_name: 'app',
        db_user: 'postgres',
        db_roles: [],
        db_type: 'self-hosted',
        db_origin: 'config',
        success: false,
        error: DENIED,
        message: DENIED,
      },
    ]);
  });

  it('an allowed start is a TDB00I event naming the role that allowed it', async () => {
    const deadline = Date.now() + 10_000;
    let started: Record<string, unknown>[] = [];
    while (Date.now() < deadline) {
      started = (await auditEvents()).filter((e) => e.event === 'db.session.start' && e.user === 'dana' && e.code === 'TDB00I');
      if (started.length >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(started.map((e) => [e.db_user, e.db_name, e.db_roles, e.success]).sort()).toEqual([
      ['alice', 'app', ['dev-app'], true],
      ['reader', 'app', ['dev-app'], true],
    ]);
  });
});

describe("'*': '*' with a deny rule (roles everything and no-postgres)", () => {
  let erin: Person;
  beforeAll(async () => {
    erin = await person('erin', ['--roles=everything,no-postgres']);
  });

  it('tsh db ls shows both databases', async () => {
    expect(expectOk(await erin.tsh(['db', 'ls']))).toBe(TABLES.both);
  });

  it('connects as any db user to any db name on both, except as postgres, which the deny rule takes away', async () => {
    expectOk(await erin.tsh(['db', 'login', 'dev-db']));
    expectOk(await erin.tsh(['db', 'login', 'prod-db']));
    await expectAccess(
      erin,
      'dev-db',
      [
        ['alice', 'postgres'],
        ['bob', 'metrics'],
      ],
      [
        ['postgres', 'postgres'],
        ['postgres', 'app'],
      ],
    );
    await expectAccess(erin, 'prod-db', [['reader', 'app']], [['postgres', 'metrics']]);
  });
});

describe('traits: {{internal.db_users}} and {{internal.db_names}} from tctl users add --db-users/--db-names', () => {
  let frank: Person;
  beforeAll(async () => {
    frank = await person('frank', ['--roles=from-traits', '--db-users=alice,reader', '--db-names=app']);
  });

  it('tsh db ls shows both databases (env is dev or prod)', async () => {
    expect(expectOk(await frank.tsh(['db', 'ls']))).toBe(TABLES.both);
  });

  it('connects as his traits db users, to his traits db names and the literal postgres', async () => {
    expectOk(await frank.tsh(['db', 'login', 'dev-db']));
    expectOk(await frank.tsh(['db', 'login', 'prod-db']));
    await expectAccess(
      frank,
      'dev-db',
      [
        ['alice', 'app'],
        ['reader', 'postgres'],
      ],
      [
        ['bob', 'app'],
        ['postgres', 'app'],
        ['alice', 'metrics'],
      ],
    );
    await expectAccess(frank, 'prod-db', [['alice', 'app']], [['bob', 'postgres']]);
  });

  it('follows tctl users update: new traits apply at the next tsh login', async () => {
    expectOk(await cluster.tctl(['users', 'update', 'frank', '--set-db-users=bob']));
    const password = 'frank-password-123';
    const home = mkdtempSync(join(cluster.dir, 'frank-again-'));
    const env = { TELEPORT_HOME: join(home, 'tsh'), HOME: home, PGSERVICEFILE: join(home, 'pg_service.conf') };
    expectOk(await run('tsh', ['login', '--insecure', `--proxy=${cluster.proxyAddr}`, '--user=frank'], { input: `${password}\n`, env }));
    const verbose = JSON.parse(expectOk(await run('tsh', ['db', 'ls', '--format=json'], { env }))) as {
      name: string;
      allowed_users: string[];
    }[];
    expect(verbose.map((d) => [d.name, d.allowed_users])).toEqual([
      ['dev-db', ['bob']],
      ['prod-db', ['bob']],
    ]);
  });
});

describe('the built-in access role, as guide 000 uses it', () => {
  it('allows exactly the --db-users and --db-names of the user, on every database', async () => {
    const harry = await person('harry', ['--roles=access', '--db-users=reader', '--db-names=app']);
    expect(expectOk(await harry.tsh(['db', 'ls']))).toBe(TABLES.both);
    expectOk(await harry.tsh(['db', 'login', 'prod-db']));
    await expectAccess(
      harry,
      'prod-db',
      [['reader', 'app']],
      [
        ['alice', 'app'],
        ['reader', 'postgres'],
      ],
    );
  });
});

describe('a role that allows one label value only (prod-reader: env=prod, user reader, any name)', () => {
  it('shows and serves prod-db only', async () => {
    const ivy = await person('ivy', ['--roles=prod-reader']);
    expect(expectOk(await ivy.tsh(['db', 'ls']))).toBe(TABLES.prod);
    expectCliError(await ivy.tsh(['db', 'login', 'dev-db']), 'database "dev-db" not found');
    expectOk(await ivy.tsh(['db', 'login', 'prod-db']));
    await expectAccess(
      ivy,
      'prod-db',
      [
        ['reader', 'app'],
        ['reader', 'metrics'],
      ],
      [['alice', 'app']],
    );
  });
});

describe('deny by labels, changed after the database login', () => {
  let gina: Person;
  beforeAll(async () => {
    gina = await person('gina', ['--roles=everything,guard']);
  });

  it('before: the empty guard role changes nothing', async () => {
    expect(expectOk(await gina.tsh(['db', 'ls']))).toBe(TABLES.both);
    expectOk(await gina.tsh(['db', 'login', 'prod-db']));
    await expectAccess(gina, 'prod-db', [['reader', 'app']], []);
  });

  it('after tctl create -f guard with deny db_labels env=prod: the same certificate is denied, and tsh db ls hides prod-db', async () => {
    expectOk(await cluster.tctl(['create', '-f'], { input: GUARD_DENIES_PROD }));
    await expectAccess(
      gina,
      'prod-db',
      [],
      [
        ['reader', 'app'],
        ['alice', 'postgres'],
      ],
    );
    expect(expectOk(await gina.tsh(['db', 'ls']))).toBe(TABLES.dev);
    const denied = (await auditEvents()).filter((e) => e.user === 'gina' && e.code === 'TDB00W');
    expect(denied.map((e) => [e.event, e.db_service, e.db_user, e.db_name, e.error])).toEqual([
      ['db.session.start', 'prod-db', 'reader', 'app', DENIED],
      ['db.session.start', 'prod-db', 'alice', 'postgres', DENIED],
    ]);
  });
});
