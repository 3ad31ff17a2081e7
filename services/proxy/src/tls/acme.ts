import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import acme from 'acme-client';
import { trustedRoots } from '#libs/pki';
import type { ProxyTls } from './proxy-tls.js';

/** `proxy_service.acme`: a certificate from an ACME CA (Let's Encrypt by default) for the public names. */
export interface AcmeSettings {
  email: string;
  /** The CA's directory URL. */
  uri: string;
  /** Where the account key and the certificate are kept (`<data_dir>/acme`). */
  dir: string;
  /** The names to certify: the proxy's public addresses' host names. */
  domains: string[];
}

export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';
/** Renewed when less than this is left (Let's Encrypt's certificates last 90 days). */
const RENEW_BEFORE_MS = 30 * 24 * 3_600_000;
const CHECK_EVERY_MS = 12 * 3_600_000;
const RETRY_MIN_MS = 60_000;
const RETRY_MAX_MS = 3_600_000;
/** How often a proxy worker looks for the certificate the first process obtained. */
const FOLLOW_EVERY_MS = 60_000;

/**
 * Keeps the proxy's public certificate from an ACME CA, validated with tls-alpn-01 on the proxy's own
 * port (the CA connects to port 443 of each name, as Teleport's proxy does it). The certificate and the
 * account key are kept in the data dir: a restart uses them while they are valid. Until the first
 * certificate comes, users get the host certificate. A proxy's worker processes `follow`: they take the
 * certificate the first process keeps, within a minute of its coming, and obtain none.
 */
export class AcmeCertificates {
  private readonly logger = new Logger('proxy');
  private timer?: NodeJS.Timeout;
  private failures = 0;
  private stopped = false;
  /** The certificate in use (PEM). */
  private using?: string;

  constructor(
    private readonly settings: AcmeSettings,
    private readonly tls: ProxyTls,
    private readonly mode: 'obtain' | 'follow' = 'obtain',
  ) {
    mkdirSync(settings.dir, { recursive: true, mode: 0o700 });
  }

  private get files() {
    const { dir } = this.settings;
    return { account: join(dir, 'account.key'), key: join(dir, 'cert.key'), cert: join(dir, 'cert.pem') };
  }

  /** Uses the kept certificate if it covers the names and has long enough left, and obtains one otherwise. */
  start(): void {
    const kept = this.kept();
    if (kept) {
      this.use(kept.key, kept.cert);
      this.logger.log(`ACME certificate for ${this.settings.domains.join(', ')} valid until ${kept.notAfter.toISOString()}`);
    }
    if (this.mode === 'follow') return this.follow();
    this.schedule(kept ? Math.min(CHECK_EVERY_MS, this.renewIn(kept.notAfter)) : 0);
  }

  private use(key: string, cert: string): void {
    this.tls.useCertificate(key, cert);
    this.using = cert;
  }

  private follow(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const kept = this.kept();
      if (kept && kept.cert !== this.using) this.use(kept.key, kept.cert);
      this.follow();
    }, FOLLOW_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private renewIn(notAfter: Date): number {
    return Math.max(0, notAfter.getTime() - RENEW_BEFORE_MS - Date.now());
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check(), ms);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const kept = this.kept();
    if (kept && this.renewIn(kept.notAfter) > 0) return this.schedule(Math.min(CHECK_EVERY_MS, this.renewIn(kept.notAfter)));
    try {
      await this.obtain();
      this.failures = 0;
      this.schedule(CHECK_EVERY_MS);
    } catch (err) {
      const retry = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.failures++);
      this.logger.error(
        `obtaining a certificate for ${this.settings.domains.join(', ')} from ${this.settings.uri} failed: ${(err as Error).message}; ` +
          `trying again in ${Math.round(retry / 1000)}s (port 443 of each name must reach this proxy)`,
      );
      this.schedule(retry);
    }
  }

  private kept(): { key: string; cert: string; notAfter: Date } | undefined {
    const { key, cert } = this.files;
    if (!existsSync(key) || !existsSync(cert)) return undefined;
    try {
      const pem = readFileSync(cert, 'utf8');
      const x509 = new X509Certificate(pem);
      const notAfter = new Date(x509.validTo);
      if (notAfter.getTime() <= Date.now() || this.settings.domains.some((d) => x509.checkHost(d) === undefined)) return undefined;
      const keyPem = readFileSync(key, 'utf8');
      // The key is written first: between the two writes, the new key and the old certificate.
      if (!x509.checkPrivateKey(createPrivateKey(keyPem))) return undefined;
      return { key: keyPem, cert: pem, notAfter };
    } catch {
      return undefined;
    }
  }

  private async obtain(): Promise<void> {
    const { account } = this.files;
    if (!existsSync(account)) writeSecret(account, (await acme.crypto.createPrivateEcdsaKey()).toString());
    // The CA's API is verified against the system's roots too (an organisation's own ACME CA).
    acme.axios.defaults.httpsAgent = new Agent({ ca: trustedRoots() });
    const client = new acme.Client({ directoryUrl: this.settings.uri, accountKey: readFileSync(account, 'utf8') });
    const [key, csr] = await acme.crypto.createCsr({ commonName: this.settings.domains[0]!, altNames: this.settings.domains });
    this.logger.log(`obtaining a certificate for ${this.settings.domains.join(', ')} from ${this.settings.uri}`);
    const cert = await client.auto({
      csr,
      email: this.settings.email,
      termsOfServiceAgreed: true,
      challengePriority: ['tls-alpn-01'],
      // The CA validates from the outside; checking from here too would fail behind NAT that does not hairpin.
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, _challenge, keyAuthorization) => {
        const [challengeKey, challengeCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
        this.tls.addChallenge(authz.identifier.value, challengeKey.toString(), challengeCert.toString());
      },
      challengeRemoveFn: async (authz) => this.tls.removeChallenge(authz.identifier.value),
    });
    writeSecret(this.files.key, key.toString());
    writeFileSync(`${this.files.cert}.tmp`, cert);
    renameSync(`${this.files.cert}.tmp`, this.files.cert);
    this.use(key.toString(), cert);
    this.logger.log(
      `ACME certificate for ${this.settings.domains.join(', ')} obtained, valid until ${new Date(new X509Certificate(cert).validTo).toISOString()}`,
    );
  }
}

function writeSecret(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  chmodSync(`${file}.tmp`, 0o600);
  renameSync(`${file}.tmp`, file);
}
