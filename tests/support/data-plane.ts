import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientConfig } from 'pg';
import { Rpc, type SignedCert } from '#libs/events';
import { generateKeyPair } from '#libs/pki';
import { freePort, startPostgres, type PostgresCluster } from '#libs/testing';
import { busClient } from './bus.js';
import { BIN, stopChild, type TestCluster } from './cluster.js';

/**
 * A PostgreSQL 15 set up as guide 000 says: its server certificate from `tctl auth sign --format=db`
 * for localhost and 127.0.0.1, ssl on, client certificates only.
 */
export async function startClusterPostgres(cluster: TestCluster, opts: { extraConf?: string } = {}): Promise<PostgresCluster> {
  const dir = mkdtempSync(join(cluster.dir, 'pg-'));
  const out = join(dir, 'server');
  const signed = await cluster.tctl(['auth', 'sign', '--format=db', '--host=localhost,127.0.0.1', `--out=${out}`, '--ttl=2190h']);
  if (signed.code !== 0) throw new Error(signed.stderr);
  return startPostgres({ tls: { certFile: `${out}.crt`, keyFile: `${out}.key`, caFile: `${out}.cas` }, ...opts });
}

export interface RunningProcess {
  process: ChildProcess;
  logs(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface DbServiceProcess extends RunningProcess {
  /** Where it keeps its joined identity (host certificate, bus credentials). */
  dataDir: string;
}

/** The token each data dir joined with: a service started again runs with the same command line. */
const joinTokens = new Map<string, string>();

/**
 * `teleport db start` as a user types it: a fresh join token, the proxy's address, one database. With
 * `adminUser`, the database comes from a teleport.yaml db_service entry (admin_user is not a flag).
 * With `dataDir`, the service of an earlier call starts again, with the token it joined with.
 */
export async function startDbService(
  cluster: TestCluster,
  db: { name: string; uri: string; labels?: string; description?: string; adminUser?: { name: string; default_database?: string } },
  /**
   * `provisioning: false`: provisioning_service.enabled: no (another process provisions the users);
   * `args`: more flags of `teleport db start`, such as --workers=2.
   */
  opts: { dataDir?: string; provisioning?: boolean; diagAddr?: string; env?: NodeJS.ProcessEnv; args?: string[] } = {},
): Promise<DbServiceProcess & { dataDir: string }> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(cluster.dir, 'db-service-'));
  let token = joinTokens.get(dataDir);
  if (!token) {
    const added = await cluster.tctl(['tokens', 'add', '--type=db', '--format=text']);
    if (added.code !== 0) throw new Error(added.stderr);
    token = added.stdout.trim();
    joinTokens.set(dataDir, token);
  }
  const args = ['db', 'start', `--token=${token}`, `--proxy=${cluster.proxyAddr}`, `--data-dir=${dataDir}`];
  if (opts.diagAddr) args.push(`--diag-addr=${opts.diagAddr}`);
  // One process unless the test asks for more: what it measures does not depend on this machine's cores.
  args.push(...(opts.args ?? []));
  if (!args.some((a) => a.startsWith('--workers'))) args.push('--workers=1');
  if (db.adminUser) {
    const config = join(dataDir, 'teleport.yaml');
    const entry = {
      name: db.name,
      protocol: 'postgres',
      uri: db.uri,
      admin_user: db.adminUser,
      ...(db.labels ? { static_labels: Object.fromEntries(db.labels.split(',').map((kv) => kv.split('='))) } : {}),
      ...(db.description ? { description: db.description } : {}),
    };
    writeFileSync(
      config,
      JSON.stringify({
        db_service: { enabled: 'yes', databases: [entry] },
        ...(opts.provisioning === false ? { provisioning_service: { enabled: 'no' } } : {}),
      }),
    );
    args.push(`--config=${config}`);
  } else {
    args.push(`--name=${db.name}`, '--protocol=postgres', `--uri=${db.uri}`);
    if (db.labels) args.push(`--labels=${db.labels}`);
    if (db.description) args.push(`--description=${db.description}`);
  }
  const child = spawn(process.execPath, [BIN.teleport, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!log.includes('the Database Service is up')) {
    if (child.exitCode !== null) throw new Error(`teleport db start exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`teleport db start did not come up:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { dataDir, process: child, logs: () => log, stop: (signal = 'SIGTERM') => stopChild(child, 10_000, signal) };
}

export interface ProxyProcess extends RunningProcess {
  addr: string;
  /** Its config file and data dir (data/). */
  dir: string;
}

/**
 * Another proxy process on its own data dir, joined with a proxy token (through the cluster's proxy, or
 * at the auth service's `joinAt`), on the cluster's NATS: what a load balancer in front of several
 * proxies gives. It advertises its own address, so the Database Services keep tunnels to it too.
 */
export async function startProxy(
  cluster: TestCluster,
  /** `proxyConfig`: more proxy_service settings, as YAML lines indented for that section. */
  opts: { joinAt?: string; proxyConfig?: string } = {},
): Promise<ProxyProcess> {
  const addr = `127.0.0.1:${await freePort()}`;
  const token = (await cluster.tctl(['tokens', 'add', '--type=proxy', '--format=text'])).stdout.trim();
  const dir = mkdtempSync(join(cluster.dir, 'proxy-'));
  const config = join(dir, 'teleport.yaml');
  writeFileSync(
    config,
    `teleport:\n  data_dir: ${join(dir, 'data')}\n  auth_token: ${token}\n` +
      (opts.joinAt ? `  auth_server: ${opts.joinAt}\n` : `  proxy_server: ${cluster.proxyAddr}\n`) +
      `  nats:\n    servers: [${cluster.natsNodes.map((n) => n.url).join(', ')}]\nauth_service:\n  enabled: "no"\n` +
      `proxy_service:\n  web_listen_addr: ${addr}\n  tunnel_public_addr: ${addr}\n` +
      (opts.proxyConfig ?? ''),
  );
  const child = spawn(process.execPath, [BIN.teleport, 'start', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!log.includes('the cluster is up')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the proxy did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { addr, dir, process: child, logs: () => log, stop: (signal = 'SIGTERM') => stopChild(child, 10_000, signal) };
}

/** Creates a user with the given tctl flags and logs them in with tsh (TELEPORT_HOME of the cluster). */
export async function loginUser(cluster: TestCluster, name: string, flags: string[]): Promise<void> {
  const password = `${name}-password-123`;
  await cluster.createUser(name, password, flags);
  const login = await cluster.tsh(['login', '--insecure', `--proxy=${cluster.proxyAddr}`, `--user=${name}`], { input: `${password}\n` });
  if (login.code !== 0) throw new Error(login.stderr);
}

/**
 * node-postgres settings for a direct connection to `pg` as `dbUser`, with a client certificate from
 * the cluster's db_client CA: the baseline that sessions through the proxy are compared with.
 */
export async function directConnection(
  cluster: TestCluster,
  pg: PostgresCluster,
  dbUser: string,
  database = 'postgres',
): Promise<ClientConfig> {
  const { nc, rpc } = await busClient(cluster);
  try {
    const keys = await generateKeyPair();
    const signed = await rpc.call<SignedCert>(Rpc.Auth.SignDbClient, { db_user: dbUser, public_key: keys.publicKeyPem, ttl_ms: 3_600_000 });
    return {
      host: '127.0.0.1',
      port: pg.port,
      user: dbUser,
      database,
      ssl: { ca: signed.cas.db ?? [], cert: signed.cert, key: keys.privateKeyPem, servername: 'localhost' },
    };
  } finally {
    await nc.close();
  }
}

/**
 * node-postgres settings for a session through the proxy with the files `tsh db login` saved,
 * read from the service file section `[<cluster>-<db>]`.
 */
export function proxyConnection(serviceFile: string, section: string, overrides: Partial<ClientConfig> = {}): ClientConfig {
  const text = readFileSync(serviceFile, 'utf8');
  const body = text.split(`[${section}]`)[1]?.split(/^\[/m)[0] ?? '';
  const entry = Object.fromEntries(
    body
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  ) as Record<string, string>;
  return {
    host: entry.host,
    port: Number(entry.port),
    user: entry.user,
    database: entry.dbname,
    ssl: {
      ca: readFileSync(entry.sslrootcert!, 'utf8'),
      cert: readFileSync(entry.sslcert!, 'utf8'),
      key: readFileSync(entry.sslkey!, 'utf8'),
    },
    ...overrides,
  };
}

export function tempDir(cluster: TestCluster, prefix: string): string {
  const dir = mkdtempSync(join(cluster.dir, prefix));
  mkdirSync(dir, { recursive: true });
  return dir;
}
