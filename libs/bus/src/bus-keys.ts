import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { encodeAccount, encodeOperator } from '@nats-io/jwt';
import { createAccount, createOperator, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { BadParameterError } from '#libs/common';
import { openPrivateKey, sealPrivateKey } from '#libs/pki';

/**
 * The bus's keys, in NATS's decentralized authentication: an operator, the system account the server
 * needs, and the cluster's account, whose signing key issues every process's user credentials. Kept in
 * the auth host's data dir, each seed sealed with the key-encryption key, as the CA keys are.
 */
export interface BusKeys {
  operator: KeyPair;
  systemAccount: KeyPair;
  account: KeyPair;
  signingKey: KeyPair;
}

/** What issues user credentials: the account's public key and its signing key. */
export interface BusSigner {
  account: string;
  signingKey: KeyPair;
}

interface SealedKeys {
  version: 1;
  operator: string;
  system_account: string;
  account: string;
  signing_key: string;
}

const seedOf = (kp: KeyPair) => new TextDecoder().decode(kp.getSeed());

export function newBusKeys(): BusKeys {
  return { operator: createOperator(), systemAccount: createAccount(), account: createAccount(), signingKey: createAccount() };
}

/** The keys in `path`, created (mode 0600) on first use. */
export function loadOrCreateBusKeys(path: string, kek: Buffer): BusKeys {
  if (existsSync(path)) return loadBusKeys(path, kek);
  const keys = newBusKeys();
  const sealed: SealedKeys = {
    version: 1,
    operator: sealPrivateKey(seedOf(keys.operator), kek),
    system_account: sealPrivateKey(seedOf(keys.systemAccount), kek),
    account: sealPrivateKey(seedOf(keys.account), kek),
    signing_key: sealPrivateKey(seedOf(keys.signingKey), kek),
  };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(`${path}.tmp`, JSON.stringify(sealed, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
  return keys;
}

export function loadBusKeys(path: string, kek: Buffer): BusKeys {
  let sealed: SealedKeys;
  try {
    sealed = JSON.parse(readFileSync(path, 'utf8')) as SealedKeys;
  } catch (err) {
    throw new BadParameterError(`cannot read the bus keys in ${path}: ${(err as Error).message}`);
  }
  const open = (seed: string) => fromSeed(new TextEncoder().encode(openPrivateKey(seed, kek)));
  return {
    operator: open(sealed.operator),
    systemAccount: open(sealed.system_account),
    account: open(sealed.account),
    signingKey: open(sealed.signing_key),
  };
}

export function busSigner(keys: BusKeys): BusSigner {
  return { account: keys.account.getPublicKey(), signingKey: keys.signingKey };
}

/** No limit, in NATS's JWT claims. */
const UNLIMITED = -1;

export interface NatsServerOptions {
  listen: string;
  storeDir: string;
  /** Unique within a NATS cluster. */
  serverName?: string;
  /** NATS's monitoring endpoint (/healthz, /varz), for probes: `host:port`. */
  monitorListen?: string;
  /** One node of a NATS cluster: where it listens for routes, and every node's route URL (itself included). */
  cluster?: { name: string; listen: string; routes: string[] };
}

/**
 * The password of the routes between a cluster's NATS nodes, the same on every node because it derives
 * from the bus keys every node's configuration is made from; nothing else can join as a route.
 */
function routePassword(keys: BusKeys): string {
  return createHmac('sha256', keys.operator.getSeed()).update('dbaccess nats cluster routes').digest('base64url');
}

const ROUTE_USER = 'route';

/**
 * nats-server's configuration for the cluster's bus: operator mode with the accounts preloaded (the
 * MEMORY resolver), JetStream on for the cluster's account. Without `cluster` it holds no secret; with
 * it, the routes' password (write it 0600).
 */
export async function natsServerConfig(keys: BusKeys, opts: NatsServerOptions): Promise<string> {
  const operator = await encodeOperator('dbaccess', keys.operator, { system_account: keys.systemAccount.getPublicKey() });
  const system = await encodeAccount('SYS', keys.systemAccount, {}, { signer: keys.operator });
  const cluster = await encodeAccount(
    'DBACCESS',
    keys.account,
    {
      signing_keys: [keys.signingKey.getPublicKey()],
      limits: {
        subs: UNLIMITED,
        data: UNLIMITED,
        payload: UNLIMITED,
        imports: UNLIMITED,
        exports: UNLIMITED,
        wildcards: true,
        conn: UNLIMITED,
        leaf: UNLIMITED,
        mem_storage: UNLIMITED,
        disk_storage: UNLIMITED,
        streams: UNLIMITED,
        consumer: UNLIMITED,
        max_ack_pending: UNLIMITED,
        mem_max_stream_bytes: UNLIMITED,
        disk_max_stream_bytes: UNLIMITED,
      },
    },
    { signer: keys.operator },
  );
  const quote = (s: string) => JSON.stringify(s);
  return [
    '# The bus of a dbaccess cluster: every client needs credentials issued by the cluster (operator mode).',
    '# Written by teleport; it holds public keys and signed account claims only, no secret.',
    ...(opts.serverName ? [`server_name: ${quote(opts.serverName)}`] : []),
    `listen: ${quote(opts.listen)}`,
    // A client's CONNECT carries its JWT with its permissions: more than the default 4KB for the proxy.
    'max_control_line: 32KB',
    ...(opts.monitorListen ? [`http: ${quote(opts.monitorListen)}`] : []),
    `jetstream { store_dir: ${quote(opts.storeDir)} }`,
    ...(opts.cluster ? clusterBlock(opts.cluster, routePassword(keys)) : []),
    `operator: ${operator}`,
    `system_account: ${keys.systemAccount.getPublicKey()}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${keys.systemAccount.getPublicKey()}: ${system}`,
    `  ${keys.account.getPublicKey()}: ${cluster}`,
    '}',
    '',
  ].join('\n');
}

/** Routes authenticate with the derived password both ways: the node checks it, and dials with it. */
function clusterBlock(cluster: { name: string; listen: string; routes: string[] }, password: string): string[] {
  const quote = (s: string) => JSON.stringify(s);
  const routes = cluster.routes.map((route) => {
    let url: URL | undefined;
    try {
      url = new URL(route);
    } catch {
      // reported below
    }
    if (!url || !['nats:', 'nats-route:', 'tls:'].includes(url.protocol) || !url.hostname || !url.port)
      throw new BadParameterError(`${route} is not a route URL (nats://host:6222)`);
    url.username = ROUTE_USER;
    url.password = password;
    return `    ${quote(url.toString())}`;
  });
  return [
    'cluster {',
    `  name: ${quote(cluster.name)}`,
    `  listen: ${quote(cluster.listen)}`,
    `  authorization { user: ${ROUTE_USER}, password: ${quote(password)} }`,
    '  routes: [',
    ...routes,
    '  ]',
    '}',
  ];
}
