import type { BusTarget } from './bus.js';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientConfig } from 'pg';
import type { PostgresCluster } from '#libs/testing';
import { readAudit } from './audit-log.js';
import { run, type RunResult, type TestCluster } from './cluster.js';
import { proxyConnection } from './data-plane.js';

/** A Teleport user on a workstation of their own: TELEPORT_HOME, HOME and service file. */
export interface Person {
  name: string;
  env: NodeJS.ProcessEnv;
  tsh(args: string[], input?: string): Promise<RunResult>;
  /** node-postgres settings from what `tsh db login <db>` saved. */
  config(db: string, overrides?: Partial<ClientConfig>): ClientConfig;
}

export async function person(cluster: TestCluster, name: string, flags: string[]): Promise<Person> {
  const password = `${name}-password-123`;
  await cluster.createUser(name, password, flags);
  const home = mkdtempSync(join(cluster.dir, `${name}-`));
  const serviceFile = join(home, 'pg_service.conf');
  const env = { TELEPORT_HOME: join(home, 'tsh'), HOME: home, PGSERVICEFILE: serviceFile };
  const login = await run('tsh', ['login', '--insecure', `--proxy=${cluster.proxyAddr}`, `--user=${name}`], {
    input: `${password}\n`,
    env,
  });
  if (login.code !== 0) throw new Error(login.stderr);
  return {
    name,
    env,
    tsh: (args, input) => run('tsh', args, { env, ...(input !== undefined ? { input } : {}) }),
    config: (db, overrides = {}) => proxyConnection(serviceFile, `${cluster.clusterName}-${db}`, overrides),
  };
}

/** The database user as the superuser sees it: whether it logs in, and its roles (teleport-auto-user included). */
export async function dbUser(pg: PostgresCluster, name: string): Promise<{ login: boolean; roles: string[] } | undefined> {
  const out = await pg.psql(
    `SELECT r.rolcanlogin, COALESCE((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members m ` +
      `JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '') FROM pg_roles r WHERE r.rolname = '${name}'`,
  );
  if (!out.trim()) return undefined;
  const [login, roles] = out.trim().split('|');
  return { login: login === 't', roles: roles ? roles.split(',') : [] };
}

/** Waits until `check` holds (it is retried on failure), within `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Provisioning events (user.create / user.deactivate / permissions.update) of one user, in stream order. */
export async function provisioningEvents(cluster: BusTarget, user: string): Promise<Record<string, any>[]> {
  return (await readAudit(cluster))
    .map((m) => m.event)
    .filter((e) => /^db\.session\.(user|permissions)\./.test(e.event) && e.user === user);
}
