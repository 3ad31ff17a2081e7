import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { createCa } from './ca.js';
import { trustedRoots } from './tls-context.js';

describe('trustedRoots', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'roots-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A PEM with its base64 wrapped at 76 columns, as some distributions' bundles have it. */
  const rewrapped = (pem: string) => {
    const body = pem.replace(/-----[A-Z ]+-----|\s+/g, '');
    return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,76}/g)!.join('\n')}\n-----END CERTIFICATE-----`;
  };

  it("adds the system's and NODE_EXTRA_CA_CERTS roots to Node's, each root once however it is wrapped", async () => {
    const corporate = (await createCa('host', 'corp.example.com')).certPem.trim();
    const extra = (await createCa('host', 'extra.example.com')).certPem.trim();
    const system = join(dir, 'bundle.crt');
    writeFileSync(system, [rewrapped(rootCertificates[0]!), rewrapped(rootCertificates[1]!), corporate].join('\n'));
    const extraFile = join(dir, 'extra.crt');
    writeFileSync(extraFile, `${extra}\n${rootCertificates[2]!}\n`);

    const roots = trustedRoots({ SSL_CERT_FILE: system, NODE_EXTRA_CA_CERTS: extraFile });
    expect(roots).toHaveLength(rootCertificates.length + 2);
    expect(roots).toEqual(expect.arrayContaining([corporate, extra, rootCertificates[0]]));
  });
});
