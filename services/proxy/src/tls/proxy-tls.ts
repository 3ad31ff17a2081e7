import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext, createServer, type SecureContext, type Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { BadParameterError } from '#libs/common';
import { INTERNAL_SERVER_NAME } from '#libs/pki';
import type { HostCredentials } from './host-credentials.js';

/** `proxy_service.https_keypairs`: PEM files of a certificate browsers and tsh trust (e.g. a public CA's). */
export interface WebKeyPair {
  keyFile: string;
  certFile: string;
}

interface LoadedPair {
  key: string;
  cert: string;
  x509: X509Certificate;
}

function loadPair(pair: WebKeyPair): LoadedPair {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new BadParameterError(`proxy_service.https_keypairs: cannot read the ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const key = read(pair.keyFile, 'key_file');
  const cert = read(pair.certFile, 'cert_file');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new BadParameterError(`proxy_service.https_keypairs: ${pair.certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  if (!x509.checkPrivateKey(createPrivateKey(key)))
    throw new BadParameterError(`proxy_service.https_keypairs: ${pair.keyFile} is not the key of ${pair.certFile}`);
  return { key, cert, x509 };
}

function options(creds: HostCredentials, pair?: LoadedPair): TlsOptions {
  return {
    key: pair?.key ?? creds.privateKeyPem,
    cert: pair?.cert ?? creds.certPem,
    // Client certificates are optional at the TLS layer (login and signup have none); handlers that
    // need one check it. Users present user-CA certificates, cluster processes and the admin host-CA ones.
    ca: [...(creds.cas.user ?? []), ...(creds.cas.host ?? [])],
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
}

/**
 * Which certificate the proxy shows, by the server name a client's ClientHello asks for. Cluster
 * processes ask for INTERNAL_SERVER_NAME and get its host certificate, which they check against the host
 * CA; so do Postgres clients, which ask for TLS with an SSLRequest. Everyone else (browsers, tsh's first
 * contact) gets the https_keypairs certificate whose names match, or the first one; without
 * https_keypairs, the host certificate too. One TLS server per certificate: OpenSSL keeps a certificate
 * per key type, so switching contexts in an SNI callback could leave an RSA host certificate and an
 * ECDSA public one side by side, and show either.
 */
export class ProxyTls {
  private readonly pairs: LoadedPair[];
  private host!: SecureContext;
  private readonly hostServer: TlsServer;
  private readonly webServers: TlsServer[];

  constructor(pairs: WebKeyPair[], creds: HostCredentials, serverOptions: TlsOptions, onSecure: (socket: TLSSocket) => void) {
    this.pairs = pairs.map(loadPair);
    const server = (pair?: LoadedPair) => {
      const s = createServer({ ...serverOptions, ...options(creds, pair) });
      s.on('secureConnection', onSecure);
      s.on('tlsClientError', () => undefined);
      return s;
    };
    this.hostServer = server();
    this.webServers = this.pairs.map((pair) => server(pair));
    this.update(creds);
  }

  /** A renewed host certificate: new connections get it, and trust the CAs it came with. */
  update(creds: HostCredentials): void {
    this.host = createSecureContext(options(creds));
    this.hostServer.setSecureContext(options(creds));
    this.pairs.forEach((pair, i) => this.webServers[i]!.setSecureContext(options(creds, pair)));
  }

  /** For a connection that asked for TLS with an SSLRequest (a Postgres client). */
  hostContext(): SecureContext {
    return this.host;
  }

  /** The TLS server for a connection whose ClientHello asks for `name`. */
  serverFor(name: string | undefined): TlsServer {
    if (!this.pairs.length || name === INTERNAL_SERVER_NAME) return this.hostServer;
    const i = name === undefined ? 0 : this.pairs.findIndex((p) => p.x509.checkHost(name) !== undefined);
    return this.webServers[Math.max(i, 0)]!;
  }
}
