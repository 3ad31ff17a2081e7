import { createHash, type X509Certificate } from 'node:crypto';
import { BoundedMap } from '#libs/common';
import { Oid } from './oids.js';
import { splitPemCerts } from './pem.js';
import { firstAttribute, nodeCertificate, readCertificate, type ParsedCertificate } from './x509.js';

export interface CertSummary {
  subjectCommonName: string;
  issuerCommonName: string;
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
  /** Lowercase hex SHA-256 of the certificate's DER. */
  fingerprintSha256: string;
}

export function inspectCert(certPem: string): CertSummary {
  const cert = readCertificate(certPem);
  return {
    subjectCommonName: firstAttribute(cert.subject, Oid.commonName) ?? '',
    issuerCommonName: firstAttribute(cert.issuer, Oid.commonName) ?? '',
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    dnsNames: cert.dnsNames,
    ipAddresses: cert.ipAddresses,
    fingerprintSha256: createHash('sha256').update(cert.der).digest('hex'),
  };
}

/**
 * True when one of the CA certificates (each may be a bundle) issued and signed the certificate,
 * and both are within their validity now.
 */
export function verifyChain(certPem: string, caCertPems: string[]): boolean {
  const now = Date.now();
  const cert = nodeCertificate(certPem);
  if (!validAt(readCertificate(certPem), now)) return false;
  return caCertPems.flatMap(splitPemCerts).some((caPem) => {
    const ca = caCertificate(caPem);
    return ca.node.ca && validAt(ca.parsed, now) && cert.checkIssued(ca.node) && cert.verify(ca.node.publicKey);
  });
}

/** CA certificates as parsed once: a cluster has a handful, and every verification reads them. */
const caCertificates = new BoundedMap<string, { node: X509Certificate; parsed: ParsedCertificate }>(64);

function caCertificate(pem: string): { node: X509Certificate; parsed: ParsedCertificate } {
  let ca = caCertificates.get(pem);
  if (!ca) {
    ca = { node: nodeCertificate(pem), parsed: readCertificate(pem) };
    caCertificates.set(pem, ca);
  }
  return ca;
}

function validAt(cert: ParsedCertificate, now: number): boolean {
  return cert.notBefore.getTime() <= now && now <= cert.notAfter.getTime();
}
