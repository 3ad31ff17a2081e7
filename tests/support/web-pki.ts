import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openssl } from './elsewhere.js';

/**
 * A CA of a test's own, as an organisation's or a public one, and a certificate from it for `names`
 * (DNS names, or IP addresses), for a proxy's https_keypairs. Files in `dir`: ca.crt, proxy.crt, proxy.key.
 */
export async function makeWebPki(dir: string, names: string[]): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Organisation Root CA'], dir);
  await openssl(['req', ...ec, '-keyout', 'proxy.key', '-out', 'proxy.csr', '-subj', `/CN=${names[0]}`], dir);
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  writeFileSync(join(dir, 'san.ext'), `subjectAltName=${san}\n`);
  const sign = ['-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext'];
  await openssl(['x509', '-req', '-in', 'proxy.csr', '-out', 'proxy.crt', ...sign], dir);
}
