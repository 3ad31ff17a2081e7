import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext, createServer, type SecureContext, type Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { BadParameterError } from '#libs/common';
import { isInternalServerName } from '#libs/pki';
import type { HostCredentials } from './host-credentials.js';

/** The ALPN protocol of ACME's tls-alpn-01 validation (RFC 8737). */
export const ACME_TLS_ALPN = 'acme-tls/1';

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
 * CA (tunnels meant for one of the proxy's processes, a name under it); so do Postgres clients, which ask for TLS with an SSLRequest. Everyone else (browsers, tsh's first
 * contact) gets the https_keypairs certificate whose names match, or the first one; without
 * https_keypairs, the host certificate too. One TLS server per certificate: OpenSSL keeps a certificate
 * per key type, so switching contexts in an SNI callback could leave an RSA host certificate and an
 * ECDSA public one side by side, and show either.
 */
export class ProxyTls {
  private pairs: LoadedPair[];
  private creds: HostCredentials;
  private host!: SecureContext;
  private readonly hostServer: TlsServer;
  private webServers: TlsServer[];
  /** tls-alpn-01 (RFC 8737): the certificate that answers an ACME server's validation, by domain. */
  private readonly challenges = new Map<string, SecureContext>();
  private readonly challengeServer: TlsServer;

  constructor(
    pairs: WebKeyPair[],
    creds: HostCredentials,
    private readonly serverOptions: TlsOptions,
    private readonly onSecure: (socket: TLSSocket) => void,
  ) {
    this.pairs = pairs.map(loadPair);
    this.creds = creds;
    this.hostServer = this.server();
    this.webServers = this.pairs.map((pair) => this.server(pair));
    this.challengeServer = createServer({
      ALPNProtocols: [ACME_TLS_ALPN],
      SNICallback: (name, done) => done(null, this.challenges.get(name.toLowerCase())),
    });
    // The validation is the handshake itself.
    this.challengeServer.on('secureConnection', (socket: TLSSocket) => socket.end());
    this.challengeServer.on('tlsClientError', () => undefined);
    this.update(creds);
  }

  private server(pair?: LoadedPair): TlsServer {
    const s = createServer({ ...this.serverOptions, ...options(this.creds, pair) });
    s.on('secureConnection', this.onSecure);
    s.on('tlsClientError', () => undefined);
    return s;
  }

  /** A renewed host certificate: new connections get it, and trust the CAs it came with. */
  update(creds: HostCredentials): void {
    this.creds = creds;
    this.host = createSecureContext(options(creds));
    this.hostServer.setSecureContext(options(creds));
    this.pairs.forEach((pair, i) => this.webServers[i]!.setSecureContext(options(creds, pair)));
  }

  /** A public certificate obtained at run time (ACME): new connections get it instead of any before. */
  useCertificate(keyPem: string, certPem: string): void {
    const pair = { key: keyPem, cert: certPem, x509: new X509Certificate(certPem) };
    this.pairs = [pair];
    this.webServers = [this.server(pair)];
  }

  /** Answers tls-alpn-01 validations of `domain` with this certificate until removed. */
  addChallenge(domain: string, keyPem: string, certPem: string): void {
    this.challenges.set(domain.toLowerCase(), createSecureContext({ key: keyPem, cert: certPem }));
  }

  removeChallenge(domain: string): void {
    this.challenges.delete(domain.toLowerCase());
  }

  /** For a connection that asked for TLS with an SSLRequest (a Postgres client). */
  hostContext(): SecureContext {
    return this.host;
  }

  /** The TLS server for a connection whose ClientHello asks for `name` and offers `alpn`. */
  serverFor(name: string | undefined, alpn: string[] = []): TlsServer {
    if (name && alpn.includes(ACME_TLS_ALPN) && this.challenges.has(name)) return this.challengeServer;
    if (!this.pairs.length || isInternalServerName(name)) return this.hostServer;
    const i = name === undefined ? 0 : this.pairs.findIndex((p) => p.x509.checkHost(name) !== undefined);
    return this.webServers[Math.max(i, 0)]!;
  }
}
