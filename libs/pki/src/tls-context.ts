import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { BoundedMap } from '#libs/common';

const MAX_CONTEXTS = 64;
const contexts = new BoundedMap<string, SecureContext>(MAX_CONTEXTS);

/**
 * A TLS client context for a certificate, key and trusted CAs, made once and reused while they stay
 * the same. Making one parses the key and every CA (OpenSSL 3's decoders make that the largest part
 * of a new connection's CPU); each connection to PostgreSQL and each tunnel would otherwise pay it.
 */
export function clientSecureContext(options: { cert?: string; key?: string; ca?: string[] }): SecureContext {
  const key = [options.cert ?? '', options.key ?? '', ...(options.ca ?? [])].join('\0');
  let context = contexts.get(key);
  if (!context) {
    context = createSecureContext({
      ...(options.cert ? { cert: options.cert } : {}),
      ...(options.key ? { key: options.key } : {}),
      ...(options.ca ? { ca: options.ca } : {}),
    });
    contexts.set(key, context);
  }
  return context;
}

/**
 * Who a TLS client expects on the other side: `host` is what the certificate is checked against (its
 * DNS or IP names), and SNI names it unless it is an address, which SNI cannot carry (RFC 6066).
 */
export function serverName(name: string): { host: string; servername?: string } {
  return isIP(name) ? { host: name } : { host: name, servername: name };
}

/**
 * The name cluster processes ask the proxy for (SNI) when they verify it with the cluster's host CA: it
 * answers with its host certificate then, whatever certificate (https_keypairs) it shows everyone else.
 * Teleport's own name for it.
 */
export const INTERNAL_SERVER_NAME = 'teleport.cluster.local';

/**
 * The server name of a Database Service's tunnel meant for one process of a proxy that runs several
 * (proxy_service.workers): the proxy's first process reads it in the ClientHello and hands the
 * connection to its process `slot` modulo their number. Under INTERNAL_SERVER_NAME, so it gets the host
 * certificate as well.
 */
export function tunnelServerName(slot: number): string {
  return `tunnel-${slot}.${INTERNAL_SERVER_NAME}`;
}

/** The slot a tunnel's server name names, if it is one tunnelServerName made. */
export function tunnelSlot(serverName: string | undefined): number | undefined {
  const m = /^tunnel-([0-9]{1,4})\.teleport\.cluster\.local$/.exec(serverName ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Whether a client asked for the proxy's host certificate: INTERNAL_SERVER_NAME or a tunnel's name under it. */
export function isInternalServerName(serverName: string | undefined): boolean {
  return serverName === INTERNAL_SERVER_NAME || tunnelSlot(serverName) !== undefined;
}

/** Where Go, and so Teleport's own tsh, looks for the system's trusted roots (the first that exists). */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/pki/tls/cacert.pem',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/ssl/cert.pem',
];

function readBundle(file: string | undefined): string[] {
  if (!file) return [];
  try {
    return readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  } catch {
    return [];
  }
}

let systemRoots: string[] | undefined;

/**
 * The roots a client trusts for a proxy's public certificate, as tsh does: Node's own, the system's
 * (SSL_CERT_FILE, or the distribution's bundle, where an organisation installs its CA) and
 * NODE_EXTRA_CA_CERTS. Node alone ignores the system's, and any `ca` option drops its extra ones.
 */
export function trustedRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env === process.env && systemRoots) return systemRoots;
  let system = readBundle(env.SSL_CERT_FILE);
  for (const file of env.SSL_CERT_FILE ? [] : SYSTEM_BUNDLES) if (!system.length) system = readBundle(file);
  // Most of the system's roots are Node's too, wrapped differently: each is parsed once (about 0.2 ms apiece).
  const unique = new Map<string, string>();
  for (const pem of [...rootCertificates, ...system, ...readBundle(env.NODE_EXTRA_CA_CERTS)]) {
    const body = pem.replace(/\s+/g, '');
    if (!unique.has(body)) unique.set(body, pem);
  }
  const roots = [...unique.values()];
  if (env === process.env) systemRoots = roots;
  return roots;
}
