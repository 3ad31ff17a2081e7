import { existsSync, readFileSync } from 'node:fs';
import { AccessDeniedError, BadParameterError } from '#libs/common';
import { ApiClient, loadCurrentProfile } from '#libs/client';
import { adminIdentityPath, loadConfig, type Config } from '#libs/config';
import { inspectCert, parseIdentityFile, type IdentityFile } from '#libs/pki';

export interface TctlGlobals {
  config?: string;
  authServer?: string;
  identity?: string;
  insecure?: boolean;
}

function readIdentity(path: string): IdentityFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new BadParameterError(`cannot read identity file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const identity = parseIdentityFile(text);
  const { notAfter } = inspectCert(identity.certPem);
  if (notAfter.getTime() <= Date.now()) {
    throw new AccessDeniedError(
      `the identity in ${path} expired at ${notAfter.toISOString()}; issue a new one with 'tctl auth sign --user=<name> --format=file'`,
    );
  }
  return identity;
}

/** With `cluster`, as a process of the cluster: the proxy's host certificate, whatever it shows users. */
function client(addr: string, identity: IdentityFile | undefined, insecure: boolean | undefined, cluster = false): ApiClient {
  return new ApiClient(addr, {
    ...(identity ? { certPem: identity.certPem, privateKeyPem: identity.privateKeyPem, trustedCas: identity.cas.host ?? [] } : {}),
    insecure: Boolean(insecure),
    cluster,
  });
}

function configOrUndefined(path: string | undefined): Config | undefined {
  // An explicit -c must load; the default file is optional.
  if (path) return loadConfig(path);
  try {
    return loadConfig();
  } catch {
    return undefined;
  }
}

/**
 * The API client `tctl` acts through: an identity file (-i), else this host's admin identity from
 * the data dir (on the auth host), else the user's `tsh login` profile.
 */
export function tctlClient(g: TctlGlobals, { needIdentity = true } = {}): ApiClient {
  const config = configOrUndefined(g.config);
  if (g.identity) {
    const addr = g.authServer ?? config?.proxyAddr;
    if (!addr) throw new BadParameterError('with -i, also say where the proxy is: --auth-server=HOST:PORT');
    return client(addr, readIdentity(g.identity), g.insecure);
  }
  if (config) {
    const path = adminIdentityPath(config.dataDir);
    if (existsSync(path)) return client(g.authServer ?? config.proxyAddr, readIdentity(path), g.insecure, true);
    if (g.config) {
      throw new BadParameterError(
        `no admin identity at ${path}: start the auth service with this config first ('teleport start -c ${g.config}')`,
      );
    }
  }
  const profile = loadCurrentProfile();
  if (profile) return client(g.authServer ?? profile.proxyAddr, profile.identity, g.insecure);
  if (!needIdentity && g.authServer) return client(g.authServer, undefined, g.insecure);
  throw new AccessDeniedError(
    "tctl has no credentials: run it on the auth host (-c /path/to/teleport.yaml), log in with 'tsh login', or pass -i IDENTITY --auth-server=PROXY",
  );
}
