import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { BadParameterError, dialable, formatHostPort, parseByteSize, parseDuration, parseHostPort } from '#libs/common';
import { FileConfigSchema, type DatabaseConfig, type FileConfig } from './file-config.js';
import { busKeysPath } from './data-dir.js';
import { formatZodError } from './zod-error.js';

export const DEFAULT_CONFIG_FILE = '/etc/teleport.yaml';
export const DEFAULT_DATA_DIR = '/var/lib/teleport';
export const DEFAULT_WEB_LISTEN_ADDR = '0.0.0.0:3080';
export const DEFAULT_NATS_LISTEN_ADDR = '127.0.0.1:4222';
/** Audit events are kept 90 days, within 1 GiB of index (and as much again in the AUDIT stream). */
export const DEFAULT_AUDIT_RETENTION = '2160h';
export const DEFAULT_AUDIT_MAX_SIZE = '1GiB';
/**
 * A client needs well under a second for TCP, TLS and its StartupMessage or request headers, even
 * across the world; one that has not done so in 5 s is holding a descriptor for nothing.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT = '5s';
/** Far more handshakes than one host, or many users behind one NAT, have in flight at once. */
export const DEFAULT_MAX_PENDING_PER_SOURCE = 128;
/** Half of the common descriptor limit of 1,024: a flood from many sources leaves room for sessions. */
export const DEFAULT_MAX_PENDING = 512;
/** Audit events not yet in the AUDIT stream wait in the Database Service's spool, up to this much. */
export const DEFAULT_AUDIT_SPOOL_MAX_SIZE = '1GiB';

/**
 * Database Service or proxy processes when db_service.workers or proxy_service.workers is unset: one
 * per two cores, at most 8. A worker keeps one core busy and about as much again goes to the kernel's
 * TLS and TCP work of its sessions (and, on a shared host, to the database itself or the other
 * service): on two cores that is one worker.
 */
export function defaultWorkers(cores = usableCores()): number {
  return Math.max(1, Math.min(8, Math.floor(cores / 2)));
}

/**
 * The cores this process may use: those it may run on, fewer when its cgroup's CPU quota allows less
 * (a container's CPU limit, which the kernel enforces but does not show as fewer CPUs).
 */
export function usableCores(): number {
  const cores = availableParallelism();
  const quota = cgroupCpuQuota();
  return quota === undefined ? cores : Math.max(1, Math.min(cores, Math.ceil(quota)));
}

/** cpu.max (cgroup v2) or cpu.cfs_quota_us / cpu.cfs_period_us (v1), in cores; undefined without a limit. */
function cgroupCpuQuota(): number | undefined {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const v2 = read('/sys/fs/cgroup/cpu.max')?.split(' ');
  const [quota, period] = v2 ?? [read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')];
  const cores = Number(quota) / Number(period);
  return Number.isFinite(cores) && cores > 0 ? cores : undefined;
}
/** The spool must hold a few of the biggest events (one NATS message each). */
const MIN_AUDIT_SPOOL_BYTES = 4 * 1024 * 1024;

export interface Config {
  /** The file read, if any. */
  file?: string;
  dataDir: string;
  nats: {
    /** Servers to connect to; for the embedded server, its own address. */
    servers: string[];
    /** True when no servers are configured: `teleport start` runs nats-server itself. */
    embedded: boolean;
    listenAddr: string;
    /** The bus keys of the control plane (`teleport.nats.keys_file`, default `<data_dir>/bus-keys.json`). */
    keysFile: string;
    /** `teleport.nats.replicas`: copies the auth service gives every stream and bucket (R3 on a three-node cluster). */
    replicas: number;
  };
  auth: {
    enabled: boolean;
    clusterName: string;
    kek: { file: string } | { env: string };
    /**
     * Read when called: token files are read by the auth service alone, so the other processes sharing
     * its teleport.yaml need not see them (their syntax is checked at load).
     */
    staticTokens: () => StaticToken[];
    /** `auth_service.listen_addr`: where proxies join with a token; none unless configured. */
    listenAddr?: string;
  };
  proxy: {
    enabled: boolean;
    webListenAddr: string;
    publicAddrs: string[];
    tunnelAddr?: string;
    connectionLimits: { handshakeTimeoutMs: number; maxPendingPerSource: number; maxPending: number };
    /** `proxy_service.https_keypairs`: file paths, read when the proxy starts. */
    httpsKeyPairs: { keyFile: string; certFile: string }[];
    /** `proxy_service.acme`, when enabled: the account's e-mail and the CA's directory (Let's Encrypt by default). */
    acme?: { email: string; uri?: string };
    /** proxy_service.workers: proxy processes on this host (defaultWorkers() when unset). */
    workers: number;
  };
  /** Where this host's tools reach the cluster's proxy. */
  proxyAddr: string;
  /** `teleport.auth_token`: a join token, or the path of a file holding one. */
  authToken?: string;
  /** `teleport.diag_addr`: where /healthz and /readyz are served. */
  diagAddr?: string;
  /** `teleport.log`: the least severity written, where, and in which form (else chosen by the terminal). */
  log: { severity: 'debug' | 'info' | 'warn' | 'error'; output: string; format?: 'text' | 'json' };
  audit: { enabled: boolean; retentionMs: number; maxBytes: number };
  db: {
    enabled: boolean;
    databases: DatabaseConfig[];
    /** db_service.resources: label selectors of the `kind: db` resources served too. */
    resourceSelectors: Array<Record<string, string | string[]>>;
    /** db_service.audit_spool.max_size in bytes. */
    auditSpoolMaxBytes: number;
    /** db_service.workers: Database Service processes on this host (defaultWorkers() when unset). */
    workers: number;
  };
  /** Whether a Database Service of this file provisions its databases' users itself. */
  provisioning: { enabled: boolean };
}

const LOG_SEVERITY = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', WARNING: 'warn', ERROR: 'error' } as const;

/** A join token of the config file: it joins what its roles allow, for as long as the file has it. */
export interface StaticToken {
  roles: JoinRole[];
  token: string;
}

export type JoinRole = 'Db' | 'Proxy' | 'Provisioning';

/** Teleport's role names in static tokens: ours, and those of services we do not have (accepted, they allow nothing here). */
const TOKEN_ROLES: Record<string, JoinRole | null> = {
  db: 'Db',
  database: 'Db',
  proxy: 'Proxy',
  provisioning: 'Provisioning',
  node: null,
  app: null,
  kube: null,
  auth: null,
  windowsdesktop: null,
  windows_desktop: null,
  discovery: null,
  trusted_cluster: null,
};

/** `roles:token`; a token that is an absolute path names the file holding it (as Teleport reads it). */
export function parseStaticToken(entry: string, where: string, readFile = true): StaticToken {
  const colon = entry.indexOf(':');
  const names =
    colon > 0
      ? entry
          .slice(0, colon)
          .split(',')
          .map((r) => r.trim().toLowerCase())
      : [];
  let token = colon > 0 ? entry.slice(colon + 1).trim() : '';
  if (!names.length || !token)
    throw new BadParameterError(`${where}: write a static token as roles:token, like "proxy,node,database:cbdeeab9-..."`);
  const unknown = names.filter((n) => !(n in TOKEN_ROLES));
  if (unknown.length)
    throw new BadParameterError(`${where}: unknown role ${unknown.join(', ')} (use ${Object.keys(TOKEN_ROLES).join(', ')})`);
  if (token.startsWith('/') && readFile) {
    try {
      token = readFileSync(token, 'utf8').trim();
    } catch (err) {
      throw new BadParameterError(
        `${where}: cannot read the token file ${token}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  const roles = [...new Set(names.map((n) => TOKEN_ROLES[n]).filter((r): r is JoinRole => r !== null))];
  return { roles, token };
}

function staticTokensOf(entries: string[]): () => StaticToken[] {
  const where = (i: number) => `auth_service.tokens[${i}]`;
  entries.forEach((entry, i) => parseStaticToken(entry, where(i), false));
  return () => entries.map((entry, i) => parseStaticToken(entry, where(i)));
}

/** Reads `teleport.yaml` (the one named, or /etc/teleport.yaml if it exists, or none) and applies defaults and NATS_URL. */
export function loadConfig(path?: string, env: NodeJS.ProcessEnv = process.env): Config {
  const file = path ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const parsed = file ? readConfigFile(file) : {};
  return resolveConfig(parsed, file, env);
}

export function readConfigFile(file: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BadParameterError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw new BadParameterError(
      `${file}: malformed YAML${where}: ${(err as Error).message.split('\n')[0]!.replace(/ at line \d+, column \d+:$/, '')}`,
    );
  }
  const result = FileConfigSchema.safeParse(raw);
  if (!result.success) throw new BadParameterError(`${file}: ${formatZodError(result.error)}`);
  return result.data;
}

export function resolveConfig(fc: FileConfig, file: string | undefined, env: NodeJS.ProcessEnv): Config {
  const dataDir = fc.teleport?.data_dir ?? DEFAULT_DATA_DIR;
  const natsListen = fc.teleport?.nats?.listen_addr ?? DEFAULT_NATS_LISTEN_ADDR;
  const configuredServers = env.NATS_URL
    ? env.NATS_URL.split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : fc.teleport?.nats?.servers;
  const embedded = !configuredServers?.length;
  const publicAddrs = [fc.proxy_service?.public_addr ?? []].flat();
  const webListenAddr = fc.proxy_service?.web_listen_addr ?? DEFAULT_WEB_LISTEN_ADDR;
  const proxyEnabled = fc.proxy_service?.enabled ?? true;
  const authEnabled = fc.auth_service?.enabled ?? true;
  const kek = fc.auth_service?.kek_env ? { env: fc.auth_service.kek_env } : { file: fc.auth_service?.kek_file ?? join(dataDir, 'kek') };
  const remote = fc.teleport?.proxy_server ?? fc.teleport?.auth_server ?? fc.teleport?.auth_servers?.[0];
  const proxyAddr = remote ?? publicAddrs[0] ?? formatHostPort(dialable(parseHostPort(webListenAddr, 3080)));
  return {
    ...(file ? { file } : {}),
    dataDir,
    nats: {
      servers: embedded ? [`nats://${formatHostPort(dialable(parseHostPort(natsListen, 4222)))}`] : configuredServers,
      embedded,
      listenAddr: natsListen,
      keysFile: fc.teleport?.nats?.keys_file ?? busKeysPath(dataDir),
      replicas: fc.teleport?.nats?.replicas ?? 1,
    },
    auth: {
      enabled: authEnabled,
      clusterName: fc.auth_service?.cluster_name ?? hostname(),
      ...(fc.auth_service?.listen_addr ? { listenAddr: fc.auth_service.listen_addr } : {}),
      kek,
      staticTokens: staticTokensOf(fc.auth_service?.tokens ?? []),
    },
    proxy: {
      enabled: proxyEnabled,
      webListenAddr,
      publicAddrs,
      ...(fc.proxy_service?.tunnel_public_addr ? { tunnelAddr: fc.proxy_service.tunnel_public_addr } : {}),
      connectionLimits: connectionLimits(fc),
      httpsKeyPairs: (fc.proxy_service?.https_keypairs ?? []).map((p) => ({ keyFile: p.key_file, certFile: p.cert_file })),
      ...acmeSettings(fc, file),
      workers: fc.proxy_service?.workers ?? defaultWorkers(),
    },
    proxyAddr,
    ...(fc.teleport?.auth_token ? { authToken: fc.teleport.auth_token } : {}),
    ...(fc.teleport?.diag_addr ? { diagAddr: fc.teleport.diag_addr } : {}),
    log: {
      severity: LOG_SEVERITY[fc.teleport?.log?.severity ?? 'INFO'],
      output: fc.teleport?.log?.output ?? 'stderr',
      ...(fc.teleport?.log?.format?.output ? { format: fc.teleport.log.format.output } : {}),
    },
    audit: auditSettings(fc, authEnabled),
    db: {
      enabled: fc.db_service?.enabled ?? false,
      databases: fc.db_service?.databases ?? [],
      resourceSelectors: (fc.db_service?.resources ?? []).map((r) => r.labels),
      auditSpoolMaxBytes: auditSpoolMaxBytes(fc),
      workers: fc.db_service?.workers ?? defaultWorkers(),
    },
    provisioning: { enabled: fc.provisioning_service?.enabled ?? true },
  };
}

function acmeSettings(fc: FileConfig, file: string | undefined): Pick<Config['proxy'], 'acme'> {
  const acme = fc.proxy_service?.acme;
  if (!acme?.enabled) return {};
  if (!acme.email) throw new BadParameterError(`${file ?? 'config'}: proxy_service.acme needs email (the ACME account's address)`);
  const names = [fc.proxy_service?.public_addr ?? []].flat().map((a) => parseHostPort(a, 443).host);
  if (!names.some((n) => !isIP(n) && n !== 'localhost'))
    throw new BadParameterError(
      `${file ?? 'config'}: proxy_service.acme needs public_addr: the DNS names to certify, which reach this proxy on port 443`,
    );
  if (fc.proxy_service?.https_keypairs?.length)
    throw new BadParameterError(`${file ?? 'config'}: proxy_service.acme and https_keypairs both give the proxy's certificate: keep one`);
  return { acme: { email: acme.email, ...(acme.uri ? { uri: acme.uri } : {}) } };
}

function connectionLimits(fc: FileConfig): Config['proxy']['connectionLimits'] {
  const limits = fc.proxy_service?.connection_limits;
  const timeout = limits?.handshake_timeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  let handshakeTimeoutMs: number;
  try {
    handshakeTimeoutMs = parseDuration(String(timeout));
  } catch (err) {
    throw new BadParameterError(`proxy_service.connection_limits.handshake_timeout: ${(err as Error).message}`);
  }
  if (handshakeTimeoutMs <= 0)
    throw new BadParameterError('proxy_service.connection_limits.handshake_timeout: must be greater than zero, like 5s');
  return {
    handshakeTimeoutMs,
    maxPendingPerSource: limits?.max_pending_per_source ?? DEFAULT_MAX_PENDING_PER_SOURCE,
    maxPending: limits?.max_pending ?? DEFAULT_MAX_PENDING,
  };
}

function auditSpoolMaxBytes(fc: FileConfig): number {
  let bytes: number;
  try {
    bytes = parseByteSize(fc.db_service?.audit_spool?.max_size ?? DEFAULT_AUDIT_SPOOL_MAX_SIZE);
  } catch (err) {
    throw new BadParameterError(`db_service.audit_spool.max_size: ${(err as Error).message}`);
  }
  if (bytes < MIN_AUDIT_SPOOL_BYTES) throw new BadParameterError('db_service.audit_spool.max_size: must be at least 4MiB, like 1GiB');
  return bytes;
}

function auditSettings(fc: FileConfig, authEnabled: boolean): Config['audit'] {
  const setting = <T>(key: string, value: string | number, parse: (v: string | number) => T): T => {
    try {
      return parse(value);
    } catch (err) {
      throw new BadParameterError(`audit.${key}: ${(err as Error).message}`);
    }
  };
  const retentionMs = setting('retention_period', fc.audit?.retention_period ?? DEFAULT_AUDIT_RETENTION, (v) => parseDuration(String(v)));
  if (retentionMs <= 0) throw new BadParameterError('audit.retention_period: must be greater than zero, like 2160h');
  return {
    // The audit service runs beside auth unless the section says otherwise.
    enabled: fc.audit?.enabled ?? authEnabled,
    retentionMs,
    maxBytes: setting('max_size', fc.audit?.max_size ?? DEFAULT_AUDIT_MAX_SIZE, parseByteSize),
  };
}
