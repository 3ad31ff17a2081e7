import { parse as parseYaml } from 'yaml';
import { TestCluster } from '../support/cluster.js';
import { readStream } from '../support/cluster-stream.js';
import { expectCliError, expectOk } from '../support/elsewhere.js';

const DB = (uri: string) => `kind: db
version: v3
metadata:
  name: orders
  description: Orders database
  labels:
    env: prod
spec:
  protocol: postgres
  uri: ${uri}
`;
const ROLE = `kind: role
version: v7
metadata:
  name: analyst
spec:
  allow:
    db_labels:
      env: [dev, staging]
    db_names: [analytics]
    db_users: ['{{internal.db_users}}']
`;

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'resources' });
});
afterAll(() => cluster?.stop());

describe('db resources', () => {
  it('emit db.create, db.update and db.delete audit events in Teleport format', async () => {
    expect(expectOk(await cluster.tctl(['create'], { input: DB('orders.internal:5432') }))).toBe('db "orders" has been created\n');
    expect(expectOk(await cluster.tctl(['create', '-f'], { input: DB('orders.internal:6432') }))).toBe('db "orders" has been updated\n');
    expect(JSON.parse(expectOk(await cluster.tctl(['get', 'db/orders', '--format=json'])))).toMatchObject({
      spec: { uri: 'orders.internal:6432' },
    });
    expect(expectOk(await cluster.tctl(['rm', 'db/orders']))).toBe('db "orders" has been deleted\n');
    expect(JSON.parse(expectOk(await cluster.tctl(['get', 'db', '--format=json'])))).toEqual([]);
    expectCliError(await cluster.tctl(['get', 'db/orders']), 'db "orders" not found');

    const audit = (await readStream(cluster, 'AUDIT')).map((m) => ({ subject: m.subject, event: JSON.parse(m.body) }));
    expect(audit.map((a) => a.subject)).toEqual(['audit.cluster.db.create', 'audit.cluster.db.update', 'audit.cluster.db.delete']);
    expect(audit.map((a) => [a.event.event, a.event.code, a.event.db_uri])).toEqual([
      ['db.create', 'TDB03I', 'orders.internal:5432'],
      ['db.update', 'TDB04I', 'orders.internal:6432'],
      ['db.delete', 'TDB05I', 'orders.internal:6432'],
    ]);
    for (const { event } of audit) {
      expect(event).toMatchObject({
        ei: 0,
        cluster_name: 'resources',
        user: 'admin',
        name: 'orders',
        db_protocol: 'postgres',
        db_labels: { env: 'prod' },
      });
      expect(event.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Date(event.time).toISOString()).toBe(event.time);
    }
  });
});

describe('roles', () => {
  it('prints roles as YAML that tctl create takes back, and as a table', async () => {
    expectOk(await cluster.tctl(['create'], { input: ROLE }));
    const yaml = expectOk(await cluster.tctl(['get', 'role/analyst']));
    expect(parseYaml(yaml)).toMatchObject({
      kind: 'role',
      version: 'v7',
      metadata: { name: 'analyst' },
      spec: { allow: { db_names: ['analytics'] } },
    });
    expect(expectOk(await cluster.tctl(['create', '-f'], { input: yaml }))).toBe('role "analyst" has been updated\n');
    const table = expectOk(await cluster.tctl(['get', 'roles', '--format=text']));
    expect(table.split('\n').map((l) => l.split(' ')[0])).toEqual(['Role', '-------', 'access', 'analyst', 'auditor', 'editor', '']);
  });

  it('takes roles naming traits Teleport defines or a user may lack, as Teleport does', async () => {
    const templated = [
      'kind: role',
      'version: v7',
      'metadata: { name: templated }',
      'spec:',
      '  allow:',
      "    db_labels: { '*': '*' }",
      "    db_users: ['{{internal.db_users}}', '{{internal.logins}}']",
      "    db_names: ['{{internal.db_names}}', '{{internal.foo}}', postgres]",
      '',
    ].join('\n');
    expect(expectOk(await cluster.tctl(['create'], { input: templated }))).toBe('role "templated" has been created\n');
    expect(expectOk(await cluster.tctl(['rm', 'role/templated']))).toBe('role "templated" has been deleted\n');
  });

  it('keeps a role that users still hold, and deletes it once they do not', async () => {
    expectOk(await cluster.tctl(['users', 'add', 'erin', '--roles=analyst', '--db-users=erin']));
    expectCliError(
      await cluster.tctl(['rm', 'role/analyst']),
      `role "analyst" is still assigned to "erin"; remove it from them first (tctl users update --set-roles)`,
    );
    expect(expectOk(await cluster.tctl(['users', 'update', 'erin', '--set-roles=access']))).toBe(
      'User erin has been updated:\n\tNew roles: access\n',
    );
    expect(expectOk(await cluster.tctl(['rm', 'role/analyst']))).toBe('role "analyst" has been deleted\n');
    expectCliError(await cluster.tctl(['get', 'role/analyst']), 'role "analyst" not found');
  });

  it('refuses users with roles that do not exist', async () => {
    expectCliError(await cluster.tctl(['users', 'add', 'frank', '--roles=nope']), `role "nope" not found; see 'tctl get roles'`);
  });
});

describe('users', () => {
  it('updates db traits, lists and removes users', async () => {
    expectOk(await cluster.tctl(['users', 'add', 'gina', '--roles=access', '--db-users=gina', '--db-names=app']));
    expect(expectOk(await cluster.tctl(['users', 'update', 'gina', '--set-db-users=gina,readonly', '--set-db-names=*']))).toBe(
      'User gina has been updated:\n\tNew database users: gina,readonly\n\tNew database names: *\n',
    );
    const users = JSON.parse(expectOk(await cluster.tctl(['users', 'ls', '--format=json']))) as Array<{ name: string; traits: object }>;
    expect(users.find((u) => u.name === 'gina')?.traits).toEqual({ db_users: ['gina', 'readonly'], db_names: ['*'] });
    expect(expectOk(await cluster.tctl(['users', 'rm', 'gina']))).toBe('User "gina" has been deleted\n');
    expectCliError(await cluster.tctl(['users', 'rm', 'gina']), 'user "gina" not found');
    expectCliError(await cluster.tctl(['users', 'update', 'gina', '--set-roles=access']), 'user "gina" not found');
  });

  it('keeps the legacy positional logins form of users add', async () => {
    expectOk(await cluster.tctl(['users', 'add', 'hank', 'root,admin', '--db-names=postgres', '--db-users=hank']));
    const hank = JSON.parse(expectOk(await cluster.tctl(['get', 'user/hank', '--format=json'])));
    expect(hank).toMatchObject({ roles: ['access'], traits: { logins: ['root', 'admin'], db_names: ['postgres'], db_users: ['hank'] } });
  });
});
