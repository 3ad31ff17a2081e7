import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { AccessDeniedError, BadParameterError } from '#libs/common';
import { ApiClient } from '#libs/client';
import { caPin, formatIdentityFile, generateKeyPair, inspectCert, parseIdentityFile, type IdentityFile } from '#libs/pki';

/** What joining gave this Database Service; kept in the data dir so restarts need no token. */
export interface JoinedIdentity {
  identity: IdentityFile;
  clusterName: string;
  natsServers: string[];
}

interface JoinReply {
  cert: string;
  cas: Record<string, string[]>;
  cluster_name: string;
  nats_servers: string[];
}

const REJOIN_BEFORE_MS = 60 * 60_000;

function files(dataDir: string) {
  return { identity: join(dataDir, 'db-identity.pem'), meta: join(dataDir, 'db-cluster.json') };
}

function readToken(token: string): string {
  return existsSync(token) ? readFileSync(token, 'utf8').trim() : token.trim();
}

function loadSaved(dataDir: string): JoinedIdentity | undefined {
  const f = files(dataDir);
  if (!existsSync(f.identity) || !existsSync(f.meta)) return undefined;
  const identity = parseIdentityFile(readFileSync(f.identity, 'utf8'));
  if (inspectCert(identity.certPem).notAfter.getTime() - Date.now() < REJOIN_BEFORE_MS) return undefined;
  const meta = JSON.parse(readFileSync(f.meta, 'utf8')) as { cluster_name: string; nats_servers: string[] };
  return { identity, clusterName: meta.cluster_name, natsServers: meta.nats_servers };
}

export function saveIdentity(dataDir: string, joined: JoinedIdentity): void {
  const f = files(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(`${f.identity}.tmp`, formatIdentityFile(joined.identity), { mode: 0o600 });
  renameSync(`${f.identity}.tmp`, f.identity);
  writeFileSync(f.meta, JSON.stringify({ cluster_name: joined.clusterName, nats_servers: joined.natsServers }), { mode: 0o600 });
}

/**
 * The host identity of this Database Service: the saved one while it is valid, else a new one from
 * the proxy in exchange for the join token. The first contact cannot verify the proxy yet; with
 * --ca-pin the cluster's host CA must match the pin.
 */
export async function joinCluster(opts: {
  proxyAddr: string;
  token?: string;
  hostId: string;
  dataDir: string;
  caPin?: string;
}): Promise<JoinedIdentity> {
  const saved = loadSaved(opts.dataDir);
  if (saved) return saved;
  if (!opts.token)
    throw new BadParameterError("this Database Service has not joined the cluster yet: pass --token (from 'tctl tokens add --type=db')");
  const keys = await generateKeyPair();
  const api = new ApiClient(opts.proxyAddr, { insecure: true });
  const reply = await api.post<JoinReply>('/v1/webapi/host/join', {
    token: readToken(opts.token),
    role: 'Db',
    host_id: opts.hostId,
    public_key: keys.publicKeyPem,
  });
  const hostCas = reply.cas.host ?? [];
  if (opts.caPin && !hostCas.some((pem) => caPin(pem) === opts.caPin)) {
    throw new AccessDeniedError(
      `the cluster at ${opts.proxyAddr} does not have the CA pin ${opts.caPin}; check the address and 'tctl status'`,
    );
  }
  if (!opts.caPin) new Logger('db').warn(`joined ${opts.proxyAddr} without --ca-pin: its identity was not verified on first contact`);
  const joined: JoinedIdentity = {
    identity: { privateKeyPem: keys.privateKeyPem, certPem: reply.cert, cas: reply.cas },
    clusterName: reply.cluster_name,
    natsServers: reply.nats_servers,
  };
  saveIdentity(opts.dataDir, joined);
  return joined;
}
