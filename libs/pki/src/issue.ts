import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { BadParameterError } from '#libs/common';
import { ipToBytes } from './ip.js';
import { encodePem } from './pem.js';
import type { NameAttribute } from './x509.js';

const { asn1, pki } = forge;

// notBefore is backdated to absorb clock skew between hosts.
const CLOCK_SKEW_MS = 60_000;

// forge keeps an attribute's universal type in valueTagClass; @types/node-forge calls it a Class.
const UTF8_TAG = asn1.Type.UTF8 as number as forge.asn1.Class;
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
// Present in forge, missing from its type definitions.
const { getTBSCertificate } = pki as unknown as {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
};

export interface CertificateTemplate {
  publicKeyPem: string;
  /** Written as UTF8String values, one attribute per RDN, in this order. */
  subject: NameAttribute[];
  ttlMs: number;
  /** forge extension descriptions; key identifiers are added here. */
  extensions: object[];
}

/** The signer: a CA's certificate and key, or only a key for a self-signed certificate. */
export interface Signer {
  privateKeyPem: string;
  certPem?: string;
}

export function issueCertificate(template: CertificateTemplate, signer: Signer): string {
  if (!(template.ttlMs > 0) || !Number.isFinite(template.ttlMs)) {
    throw new BadParameterError(`certificate TTL must be a positive number of milliseconds, got ${template.ttlMs}`);
  }
  const now = Date.now();
  const cert = pki.createCertificate();
  cert.publicKey = readPublicKey(template.publicKeyPem);
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now + template.ttlMs);
  const subject = template.subject.map((a) => ({ type: a.type, value: a.value, valueTagClass: UTF8_TAG }));
  cert.setSubject(subject);

  const keyIdentifiers: object[] = [{ name: 'subjectKeyIdentifier' }];
  if (signer.certPem === undefined) {
    cert.setIssuer(subject);
    keyIdentifiers.push({ name: 'authorityKeyIdentifier', keyIdentifier: true });
  } else {
    const ca = readRsaCertificate(signer.certPem);
    cert.setIssuer(ca.subject.attributes.map(reencodable));
    const ski = ca.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
    if (ski?.subjectKeyIdentifier) {
      const keyIdentifier = forge.util.hexToBytes(ski.subjectKeyIdentifier);
      keyIdentifiers.push({ name: 'authorityKeyIdentifier', keyIdentifier });
    }
  }
  cert.setExtensions([...template.extensions, ...keyIdentifiers]);
  signSha256WithRsa(cert, readPrivateKey(signer.privateKeyPem));
  return encodePem('CERTIFICATE', Buffer.from(asn1.toDer(pki.certificateToAsn1(cert)).getBytes(), 'binary'));
}

/** Extensions of an end-entity certificate: not a CA, for TLS with RSA keys. */
export function leafExtensions(usage: { serverAuth?: true; clientAuth?: true }, sans: string[] = []): object[] {
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', ...usage },
  ];
  if (sans.length > 0) extensions.push({ name: 'subjectAltName', altNames: sans.map(altName) });
  return extensions;
}

// GeneralName: [2] dNSName, [7] iPAddress (4 or 16 bytes)
function altName(host: string): { type: number; value: string } {
  const ip = ipToBytes(host);
  if (ip) return { type: 7, value: ip.toString('binary') };
  if (!/^[\x21-\x7e]+$/.test(host)) {
    throw new BadParameterError(`"${host}" is not a valid DNS name or IP address for a certificate`);
  }
  return { type: 2, value: host };
}

// A positive 128-bit serial with a minimal DER encoding (no leading zero byte).
function serialNumber(): string {
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f || 1;
  return serial.toString('hex');
}

// forge reads UTF8String values as raw bytes but encodes them again on write.
function reencodable(attr: forge.pki.CertificateField): forge.pki.CertificateField {
  const value = String(attr.value);
  return { ...attr, value: attr.valueTagClass === UTF8_TAG ? forge.util.decodeUtf8(value) : value };
}

function readPublicKey(pem: string): forge.pki.PublicKey {
  try {
    return pki.publicKeyFromPem(pem);
  } catch (err) {
    throw new BadParameterError('cannot read the public key to certify: pass an RSA public key in PEM', { cause: err });
  }
}

// What forge's cert.sign does, with the RSA operation done natively (forge's takes ~150 ms in JS).
function signSha256WithRsa(cert: forge.pki.Certificate, key: KeyObject): void {
  cert.signatureOid = cert.siginfo.algorithmOid = SHA256_WITH_RSA;
  cert.tbsCertificate = getTBSCertificate(cert);
  const tbs = Buffer.from(asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = sign('sha256', tbs, key).toString('binary');
}

function readPrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new BadParameterError('cannot read the signing private key: pass an RSA private key in PEM', { cause: err });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new BadParameterError(`the signing key is ${key.asymmetricKeyType}; certificates are signed with RSA keys`);
  }
  return key;
}

function readRsaCertificate(pem: string): forge.pki.Certificate {
  try {
    return pki.certificateFromPem(pem);
  } catch (err) {
    throw new BadParameterError('cannot read the CA certificate: pass an RSA CA certificate in PEM', { cause: err });
  }
}
