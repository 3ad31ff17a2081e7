import { createPrivateKey, createPublicKey } from 'node:crypto';
import { BadParameterError } from '#libs/common';
import { CA_TYPES, subjectCaType, type CaType } from './ca.js';
import { Oid } from './oids.js';
import { decodePemBlocks, encodePem } from './pem.js';
import { firstAttribute, nodeCertificate, readCertificate } from './x509.js';

/** What `tctl auth sign --format=file` writes and `tsh -i` / `tctl -i` read. */
export interface IdentityFile {
  privateKeyPem: string;
  certPem: string;
  cas: Partial<Record<CaType, string[]>>;
}

const RESIGN = 'sign a new one with tctl auth sign --format=file';

// Plain PEM, in order: the private key, the user certificate, the trusted CA certificates by type.
// A CA certificate names its type in its subject OU.
export function formatIdentityFile(id: IdentityFile): string {
  const cas = CA_TYPES.flatMap((type) => id.cas[type] ?? []);
  return [id.privateKeyPem, id.certPem, ...cas].map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');
}

export function parseIdentityFile(text: string): IdentityFile {
  const blocks = decodePemBlocks(text);
  const key = blocks.find((b) => b.type === 'PRIVATE KEY');
  if (!key) {
    throw new BadParameterError(`identity file has no private key (PEM "PRIVATE KEY" block); ${RESIGN}`);
  }
  const [cert, ...caCerts] = blocks.filter((b) => b.type === 'CERTIFICATE').map((b) => encodePem(b.type, b.der));
  if (!cert || nodeCertificate(cert).ca) {
    throw new BadParameterError(`identity file has no user certificate after its private key; ${RESIGN}`);
  }
  const privateKeyPem = encodePem(key.type, key.der);
  if (!keyMatches(privateKeyPem, cert)) {
    throw new BadParameterError(`identity file's private key does not match its certificate; ${RESIGN}`);
  }
  const cas: Partial<Record<CaType, string[]>> = {};
  for (const caPem of caCerts) {
    const type = subjectCaType(caPem);
    if (!type) {
      const name = firstAttribute(readCertificate(caPem).subject, Oid.commonName) ?? '';
      throw new BadParameterError(
        `CA certificate "${name}" in the identity file does not name its CA type (subject OU: ${CA_TYPES.join(', ')})`,
      );
    }
    (cas[type] ??= []).push(caPem);
  }
  return { privateKeyPem, certPem: cert, cas };
}

function keyMatches(privateKeyPem: string, certPem: string): boolean {
  let publicKey: Buffer;
  try {
    publicKey = createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'der' });
  } catch (err) {
    throw new BadParameterError("cannot read the identity file's private key; it is corrupted", { cause: err });
  }
  return publicKey.equals(nodeCertificate(certPem).publicKey.export({ type: 'spki', format: 'der' }));
}
