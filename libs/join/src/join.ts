import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { newUserKey } from '#libs/bus';
import { AccessDeniedError, BadParameterError, ConnectionProblemError, formatHostPort, parseHostPort } from '#libs/common';
import { ApiClient } from '#libs/client';
import type { AuthRpc } from '#libs/events';
import { caPin, formatIdentityFile, generateKeyPair, inspectCert, parseIdentityFile, type IdentityFile } from '#libs/pki';

/** The system roles that join a cluster with a token, and the `tctl tokens add --type` of each. */
export const JOIN_ROLES = { Db: 'db', Proxy: 'proxy', Provisioning: 'provisioning' } as const;
export type JoinRole = keyof typeof JOIN_ROLES;

/** What joining gave a process; kept in the data dir so restarts need no token. */
export interface JoinedIdentity {
  identity: IdentityFile;
  clusterName: string;
  /** The proxy it joined through. */
  proxyAddr: string;
  /** SHA-256 of the token it joined with: another token means another intent. */
  tokenHash: string;
  /** Its NATS user key (seed) and the credentials the cluster issued for it. */
  busSeed: string;
  busJwt: string;
}

interface SavedMeta {
  cluster_name: string;
  proxy: string;
  token_sha256: string;
  bus_seed: string;
  bus_jwt: string;
}

function files(dataDir: string, role: JoinRole) {
  const name = JOIN_ROLES[role];
  return { identity: join(dataDir, `${name}-identity.pem`), meta: join(dataDir, `${name}-cluster.json`) };
}

function readToken(token: string): string {
  return existsSync(token) ? readFileSync(token, 'utf8').trim() : token.trim();
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function loadSaved(dataDir: string, role: JoinRole): JoinedIdentity | undefined {
  const f = files(dataDir, role);
  if (!existsSync(f.identity) || !existsSync(f.meta)) return undefined;
  const identity = parseIdentityFile(readFileSync(f.identity, 'utf8'));
  const meta = JSON.parse(readFileSync(f.meta, 'utf8')) as Partial<SavedMeta>;
  // An identity from before the bus had credentials cannot reach it: join again.
  if (!meta.bus_seed || !meta.bus_jwt || !meta.proxy || !meta.token_sha256 || !meta.cluster_name) return undefined;
  return {
    identity,
    clusterName: meta.cluster_name,
    proxyAddr: formatHostPort(parseHostPort(meta.proxy, 443)),
    tokenHash: meta.token_sha256,
    busSeed: meta.bus_seed,
    busJwt: meta.bus_jwt,
  };
}

export function saveIdentity(dataDir: string, role: JoinRole, joined: JoinedIdentity): void {
  const f = files(dataDir, role);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(`${f.identity}.tmp`, formatIdentityFile(joined.identity), { mode: 0o600 });
  renameSync(`${f.identity}.tmp`, f.identity);
  const meta: SavedMeta = {
    cluster_name: joined.clusterName,
    proxy: joined.proxyAddr,
    token_sha256: joined.tokenHash,
    bus_seed: joined.busSeed,
    bus_jwt: joined.busJwt,
  };
  writeFileSync(`${f.meta}.tmp`, JSON.stringify(meta), { mode: 0o600 });
  renameSync(`${f.meta}.tmp`, f.meta);
}

export interface JoinOptions {
  role: JoinRole;
  proxyAddr: string;
  token?: string;
  hostId: string;
  dataDir: string;
  caPin?: string;
  /** Names the host certificate must answer to (a proxy's public names). */
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Discard a saved identity and join again with the token. */
  rejoin?: boolean;
}

/**
 * The identity of a process that joins with a token (a Database Service, a proxy of its own host): the
 * saved one while it is valid and was made for the same proxy and token, else a new one from the proxy
 * in exchange for the token. A data dir that holds another join is never reused silently. The first
 * contact cannot verify the proxy yet; with --ca-pin the cluster's host CA must match the pin.
 */
export async function joinCluster(options: JoinOptions): Promise<JoinedIdentity> {
  // A proxy named without a port is on 443, for the bus and tunnels as for the join itself.
  const proxyAddr = formatHostPort(parseHostPort(options.proxyAddr, 443));
  const opts = { ...options, proxyAddr };
  const kind = JOIN_ROLES[opts.role];
  const token = opts.token ? readToken(opts.token) : undefined;
  const saved = opts.rejoin ? undefined : loadSaved(opts.dataDir, opts.role);
  if (saved) {
    const expires = inspectCert(saved.identity.certPem).notAfter;
    const where = `cluster "${saved.clusterName}" through ${saved.proxyAddr} (identity in ${opts.dataDir})`;
    if (token && sha256(token) !== saved.tokenHash) {
      throw new BadParameterError(
        `this process already joined ${where} with another token; to join with this one, start it once with --rejoin, which discards the old identity`,
      );
    }
    if (proxyAddr !== saved.proxyAddr) {
      throw new BadParameterError(
        `this process joined ${where}, not through ${opts.proxyAddr}; give it ${saved.proxyAddr} again, or --rejoin with a token of the other cluster`,
      );
    }
    if (expires.getTime() > Date.now()) return saved;
    if (!token) {
      throw new AccessDeniedError(
        `the identity in ${opts.dataDir} expired at ${expires.toISOString()} (the process was stopped too long to renew it); join again with a new --token ('tctl tokens add --type=${kind}')`,
      );
    }
  }
  if (!token)
    throw new BadParameterError(`this process has not joined the cluster yet: pass --token (from 'tctl tokens add --type=${kind}')`);
  if (opts.rejoin) rmSync(files(opts.dataDir, opts.role).meta, { force: true });

  const keys = await generateKeyPair();
  const busKey = newUserKey();
  const api = new ApiClient(opts.proxyAddr, { insecure: true });
  const reply = await untilReachable(opts.proxyAddr, kind, () =>
    api.post<AuthRpc.JoinReply & { cluster_name: string }>('/v1/webapi/host/join', {
      token,
      role: opts.role,
      host_id: opts.hostId,
      public_key: keys.publicKeyPem,
      bus_public_key: busKey.getPublicKey(),
      ...(opts.dnsNames ? { dns_names: opts.dnsNames } : {}),
      ...(opts.ipAddresses ? { ip_addresses: opts.ipAddresses } : {}),
    }),
  );
  const hostCas = reply.cas.host ?? [];
  if (opts.caPin && !hostCas.some((pem) => caPin(pem) === opts.caPin)) {
    throw new AccessDeniedError(
      `the cluster at ${opts.proxyAddr} does not have the CA pin ${opts.caPin}; check the address and 'tctl status'`,
    );
  }
  if (!opts.caPin) new Logger(kind).warn(`joined ${opts.proxyAddr} without --ca-pin: its identity was not verified on first contact`);
  const joined: JoinedIdentity = {
    identity: { privateKeyPem: keys.privateKeyPem, certPem: reply.cert, cas: reply.cas },
    clusterName: reply.cluster_name,
    proxyAddr: opts.proxyAddr,
    tokenHash: sha256(token),
    busSeed: new TextDecoder().decode(busKey.getSeed()),
    busJwt: reply.bus_jwt,
  };
  saveIdentity(opts.dataDir, opts.role, joined);
  new Logger(kind).log(`joined cluster "${joined.clusterName}" through ${opts.proxyAddr}`);
  return joined;
}

/** How often a join that cannot reach the cluster is tried again, at most; and how often that is said. */
const JOIN_RETRY_MAX_MS = 5_000;
const JOIN_WAIT_LOG_MS = 30_000;

/**
 * `attempt` until the proxy and the auth service behind it answer: a process started beside a proxy
 * that is still starting (compose, Kubernetes, a reboot) waits for it, as Teleport's agents do, rather
 * than exiting. An answer that refuses (a bad token, a CA pin that does not match) ends it at once.
 */
async function untilReachable<T>(proxyAddr: string, kind: string, attempt: () => Promise<T>): Promise<T> {
  const logger = new Logger(kind);
  let delay = 500;
  let said = 0;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof ConnectionProblemError)) throw err;
      if (Date.now() - said >= JOIN_WAIT_LOG_MS) {
        logger.warn(`cannot join through ${proxyAddr} yet: ${err.message}; trying again until it answers`);
        said = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(JOIN_RETRY_MAX_MS, delay * 2);
    }
  }
}
