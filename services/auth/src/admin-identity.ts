import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { adminIdentityPath } from '#libs/config';
import { formatIdentityFile, generateKeyPair, inspectCert, parseIdentityFile, signHostCert, verifyChain } from '#libs/pki';
import type { CertAuthorities } from './cas/cert-authorities.js';

const TTL_MS = 365 * 24 * 60 * 60_000;
const RENEW_BEFORE_MS = 30 * 24 * 60 * 60_000;

/** The identity `tctl` uses on this host: built-in role Admin, readable only by the owner of the data dir. */
export async function writeAdminIdentity(dataDir: string, cas: CertAuthorities): Promise<void> {
  const path = adminIdentityPath(dataDir);
  if (existsSync(path)) {
    try {
      const current = parseIdentityFile(readFileSync(path, 'utf8'));
      const fresh = inspectCert(current.certPem).notAfter.getTime() - Date.now() > RENEW_BEFORE_MS;
      if (fresh && verifyChain(current.certPem, cas.certs('host'))) return;
    } catch {
      // Unreadable or from another cluster: replaced below.
    }
  }
  const keys = await generateKeyPair();
  const certPem = signHostCert(cas.get('host'), keys.publicKeyPem, { hostId: 'admin', systemRole: 'Admin', ttlMs: TTL_MS });
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  writeFileSync(
    tmp,
    formatIdentityFile({ privateKeyPem: keys.privateKeyPem, certPem, cas: { host: cas.certs('host'), user: cas.certs('user') } }),
    { mode: 0o600 },
  );
  renameSync(tmp, path);
}
