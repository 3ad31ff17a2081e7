// Guide 004's troubleshooting section, case by case: each misconfiguration refuses the connection with
// the guide's message or a clearer one that names the fix; where we need less than Teleport (no
// procedures, so no CREATE or USAGE on schema public), provisioning simply works.
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import { startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';
import { expectOk } from '../support/elsewhere.js';
import { connectFailure, queryOnce } from '../support/pg-client.js';
import { dbUser, eventually, person, type Person } from '../support/provisioning.js';
import { psql } from '../support/psql.js';

const ROLE = `kind: role
version: v7
metadata: {name: auto-db-users}
spec:
  options: {create_db_user_mode: keep}
  allow:
    db_labels: {'*': '*'}
    db_names: ['*']
    db_roles: [reader]
`;
const PREFIX = 'your Teleport role requires automatic database user provisioning but ';

let cluster: TestCluster;
let postgres: PostgresCluster;
let alice: Person;
const services: DbServiceProcess[] = [];

async function serve(name: string, adminUser?: { name: string; default_database?: string }): Promise<void> {
  services.push(await startDbService(cluster, { name, uri: `localhost:${postgres.port}`, ...(adminUser ? { adminUser } : {}) }));
}

async function login(db: string, dbName: string): Promise<void> {
  expectOk(await alice.tsh(['db', 'login', `--db-name=${dbName}`, db]));
}

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'troubleshooting' });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE ROLE reader; CREATE USER "teleport-admin" login createrole; CREATE USER "weak-admin" login;');
  await postgres.psql('CREATE DATABASE locked; CREATE DATABASE noschema;');
  await postgres.psql('REVOKE ALL ON DATABASE locked FROM PUBLIC;');
  await postgres.psql('REVOKE ALL ON SCHEMA public FROM PUBLIC;', { database: 'noschema' });
  await serve('plain');
  await serve('example', { name: 'teleport-admin' });
  await serve('weak', { name: 'weak-admin' });
  await serve('ghost', { name: 'nobody' });
  expectOk(await cluster.tctl(['create'], { input: ROLE }));
  alice = await person(cluster, 'alice', ['--roles=auto-db-users']);
}, 120_000);

afterAll(async () => {
  for (const s of services) await s.stop();
  await postgres?.stop();
  await cluster?.stop();
});

it('a database without admin_user: says to configure one', async () => {
  await login('plain', 'postgres');
  expect(await connectFailure(alice.config('plain'))).toEqual({
    severity: 'FATAL',
    code: '28000',
    message:
      `${PREFIX}database "plain" has no admin user: set admin_user.name in its db_service entry (or its kind: db resource) ` +
      `to a user created with 'CREATE USER "teleport-admin" login createrole'`,
  });
});

it('an admin user that does not exist: says to create it', async () => {
  await login('ghost', 'postgres');
  const failure = await connectFailure(alice.config('ghost'));
  expect(failure).toMatchObject({ severity: 'FATAL', code: '28000' });
  expect(failure.message).toBe(
    'the admin user "nobody" cannot connect to database "postgres" for automatic user provisioning: role "nobody" does not exist',
  );
});

it('an admin user without CREATEROLE: names ALTER ROLE ... CREATEROLE', async () => {
  await login('weak', 'postgres');
  const out = await psql(['service=troubleshooting-weak', '-c', 'select 1'], { env: alice.env });
  expect(out.code).toBe(2);
  expect(out.stderr).toContain(
    `FATAL:  ${PREFIX}an attempt to activate database user "alice" failed due to the following error: ` +
      'ERROR: permission denied to create role (SQLSTATE 42501)',
  );
  expect(out.stderr).toContain('HINT:  the admin user must be able to create users: ALTER ROLE "weak-admin" CREATEROLE');
});

it('PostgreSQL 15 without CREATE on schema public for the admin: works, nothing is created there', async () => {
  expect(await postgres.psql(`SELECT has_schema_privilege('teleport-admin', 'public', 'CREATE');`)).toBe('f\n');
  await login('example', 'postgres');
  await expect(queryOnce(alice.config('example'), 'select current_user')).resolves.toEqual([{ current_user: 'alice' }]);
});

it('no USAGE on schema public ("no schema has been selected"): works too', async () => {
  await eventually(async () => expect(await dbUser(postgres, 'alice')).toMatchObject({ login: false }));
  await login('example', 'noschema');
  await expect(queryOnce(alice.config('example'), 'select current_database()')).resolves.toEqual([{ current_database: 'noschema' }]);
});

describe('CONNECT privilege (REVOKE ALL ON DATABASE ... FROM PUBLIC)', () => {
  it('the admin without CONNECT: the guide message, and the GRANT that fixes it', async () => {
    await eventually(async () => expect(await dbUser(postgres, 'alice')).toMatchObject({ login: false }));
    await login('example', 'locked');
    const out = await psql(['service=troubleshooting-example', '-c', 'select 1'], { env: alice.env });
    expect(out.stderr).toContain('FATAL:  permission denied for database "locked"\nDETAIL:  User does not have CONNECT privilege.\n');
    expect(out.stderr).toContain('HINT:  the admin user needs CONNECT: GRANT CONNECT ON DATABASE "locked" TO "teleport-admin"');
  });

  it('the admin with CONNECT but not to grant it, and the role without it: names both fixes', async () => {
    await postgres.psql('GRANT CONNECT ON DATABASE locked TO "teleport-admin";');
    const out = await psql(['service=troubleshooting-example', '-c', 'select 1'], { env: alice.env });
    expect(out.stderr).toContain(
      'FATAL:  permission denied for database "locked"\n' +
        'DETAIL:  User "alice" does not have CONNECT privilege, and the admin user "teleport-admin" may not grant it.\n' +
        'HINT:  GRANT CONNECT ON DATABASE "locked" TO "teleport-admin" WITH GRANT OPTION; ' +
        'or grant CONNECT to the database roles of your Teleport role (GRANT CONNECT ON DATABASE "locked" TO "reader")',
    );
  });

  it('the guide fix, CONNECT for the role, works', async () => {
    await postgres.psql('GRANT CONNECT ON DATABASE locked TO reader;');
    await expect(queryOnce(alice.config('example'), 'select current_database()')).resolves.toEqual([{ current_database: 'locked' }]);
    await postgres.psql('REVOKE CONNECT ON DATABASE locked FROM reader;');
  });

  it('beyond Teleport (issue #52287): with CONNECT WITH GRANT OPTION the admin grants it for the session, and takes it back', async () => {
    await eventually(async () => expect(await dbUser(postgres, 'alice')).toMatchObject({ login: false }));
    await postgres.psql('GRANT CONNECT ON DATABASE locked TO "teleport-admin" WITH GRANT OPTION;');
    await expect(queryOnce(alice.config('example'), 'select current_database()')).resolves.toEqual([{ current_database: 'locked' }]);
    await eventually(async () => expect(await dbUser(postgres, 'alice')).toMatchObject({ login: false }));
    expect(await postgres.psql(`SELECT has_database_privilege('alice', 'locked', 'CONNECT');`)).toBe('f\n');
  });
});
