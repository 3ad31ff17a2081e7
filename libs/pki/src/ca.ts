import { createHash } from 'node:crypto';
import { BadParameterError } from '#libs/common';
import { generateKeyPair } from './keys.js';
import { issueCertificate } from './issue.js';
import { Oid } from './oids.js';
import { firstAttribute, nodeCertificate, readCertificate } from './x509.js';

export const CA_TYPES = ['user', 'host', 'db', 'db_client'] as const;
export type CaType = (typeof CA_TYPES)[number];

export interface CertificateAuthority {
  type: CaType;
  clusterName: string;
  certPem: string;
  privateKeyPem: string;
}

const CA_TTL_MS = 10 * 365 * 24 * 3_600_000;

export function isCaType(value: string | undefined): value is CaType {
  return (CA_TYPES as readonly (string | undefined)[]).includes(value);
}

/** A self-signed CA: CN and O name the cluster, OU the CA type, so every certificate it signs names its type. */
export async function createCa(type: CaType, clusterName: string): Promise<CertificateAuthority> {
  if (!isCaType(type)) throw new BadParameterError(`unknown CA type "${type}"; expected one of ${CA_TYPES.join(', ')}`);
  if (!clusterName) throw new BadParameterError('a CA needs a cluster name');
  const keys = await generateKeyPair();
  const certPem = issueCertificate(
    {
      publicKeyPem: keys.publicKeyPem,
      subject: [
        { type: Oid.commonName, value: clusterName },
        { type: Oid.organization, value: clusterName },
        { type: Oid.organizationalUnit, value: type },
      ],
      ttlMs: CA_TTL_MS,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    },
    { privateKeyPem: keys.privateKeyPem },
  );
  return { type, clusterName, certPem, privateKeyPem: keys.privateKeyPem };
}

/** Teleport's CA pin: 'sha256:' + hex SHA-256 of the certificate's SubjectPublicKeyInfo (DER). */
export function caPin(certPem: string): string {
  const spki = nodeCertificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** The type of the CA that signed a certificate, from the issuer's OU. */
export function issuerCaType(certPem: string): CaType | undefined {
  const ou = firstAttribute(readCertificate(certPem).issuer, Oid.organizationalUnit);
  return isCaType(ou) ? ou : undefined;
}

/** The type a CA certificate declares for itself, from its subject OU. */
export function subjectCaType(certPem: string): CaType | undefined {
  const ou = firstAttribute(readCertificate(certPem).subject, Oid.organizationalUnit);
  return isCaType(ou) ? ou : undefined;
}
