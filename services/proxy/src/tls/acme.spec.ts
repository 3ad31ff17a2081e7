import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { createCa, generateKeyPair, signDbServerCert, type CertificateAuthority } from '#libs/pki';
import { AcmeCertificates } from './acme.js';
import type { ProxyTls } from './proxy-tls.js';

const DOMAIN = 'proxy.example.com';

/** A key and a certificate for DOMAIN, as PEM (any CA will do: only the names, dates and key are read). */
async function pair(ca: CertificateAuthority): Promise<{ key: string; cert: string }> {
  const keys = await generateKeyPair();
  return { key: keys.privateKeyPem, cert: signDbServerCert(ca, keys.publicKeyPem, { hosts: [DOMAIN], ttlMs: 3_600_000 }) };
}

describe('AcmeCertificates in a proxy worker (follow)', () => {
  afterEach(() => jest.useRealTimers());

  it('takes the certificate the first process keeps, and skips a key that is not its certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'acme-'));
    const ca = await createCa('db', 'acme-test');
    const [a, b] = [await pair(ca), await pair(ca)];
    const used: string[] = [];
    const tls = { useCertificate: (_key: string, cert: string) => used.push(cert) } as unknown as ProxyTls;
    jest.useFakeTimers();
    const settings = { email: 'admin@example.com', uri: 'https://acme.invalid/directory', dir, domains: [DOMAIN] };
    const certs = new AcmeCertificates(settings, tls, 'follow');
    certs.start();
    expect(used).toEqual([]);

    writeFileSync(join(dir, 'cert.key'), a.key);
    writeFileSync(join(dir, 'cert.pem'), a.cert);
    jest.advanceTimersByTime(60_000);
    expect(used).toEqual([a.cert]);

    // The first process writes the key, then the certificate: in between, they do not match.
    writeFileSync(join(dir, 'cert.key'), b.key);
    jest.advanceTimersByTime(60_000);
    expect(used).toEqual([a.cert]);
    // A worker (re)started just then takes neither: the host certificate serves until the pair matches.
    const late: string[] = [];
    const lateTls = { useCertificate: (_key: string, cert: string) => late.push(cert) } as unknown as ProxyTls;
    const lateCerts = new AcmeCertificates(settings, lateTls, 'follow');
    lateCerts.start();
    expect(late).toEqual([]);
    lateCerts.stop();

    writeFileSync(join(dir, 'cert.pem'), b.cert);
    jest.advanceTimersByTime(60_000);
    expect(used).toEqual([a.cert, b.cert]);
    certs.stop();
  });
});
