import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { BadParameterError } from '#libs/common';
import { bytesToIp } from './ip.js';
import { Oid } from './oids.js';
import { certificateDer } from './pem.js';

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;

export interface NameAttribute {
  type: string;
  value: string;
}

/** What this library reads from a certificate, for any key algorithm (forge's reader takes RSA only). */
export interface ParsedCertificate {
  der: Buffer;
  subject: NameAttribute[];
  issuer: NameAttribute[];
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
}

export function readCertificate(certPem: string): ParsedCertificate {
  const der = certificateDer(certPem);
  try {
    return readDer(der);
  } catch (err) {
    throw new BadParameterError(`cannot read certificate: ${(err as Error).message}`, { cause: err });
  }
}

/** Node's view of a certificate, for keys, signatures and fingerprints. */
export function nodeCertificate(certPem: string): X509Certificate {
  const der = certificateDer(certPem);
  try {
    return new X509Certificate(der);
  } catch (err) {
    throw new BadParameterError(`cannot read certificate: ${(err as Error).message}`, { cause: err });
  }
}

export function attributeValues(name: NameAttribute[], type: string): string[] {
  return name.filter((a) => a.type === type).map((a) => a.value);
}

export function firstAttribute(name: NameAttribute[], type: string): string | undefined {
  return name.find((a) => a.type === type)?.value;
}

// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
// TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity,
//   subject, subjectPublicKeyInfo, [1] issuerUniqueID, [2] subjectUniqueID, [3] extensions }
function readDer(der: Buffer): ParsedCertificate {
  const cert = asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
  const tbs = children(children(cert)[0]);
  const first = tbs[0];
  const at = first && first.tagClass === asn1.Class.CONTEXT_SPECIFIC && first.type === 0 ? 1 : 0;
  const validity = children(tbs[at + 3]);
  const extensions = tbs.slice(at + 6).find((e) => e.tagClass === asn1.Class.CONTEXT_SPECIFIC && e.type === 3);
  const altNames = extensions ? subjectAltNames(children(children(extensions)[0])) : [];
  return {
    der,
    issuer: readName(tbs[at + 2]),
    subject: readName(tbs[at + 4]),
    notBefore: readTime(validity[0]),
    notAfter: readTime(validity[1]),
    dnsNames: altNames.filter((n) => n.type === 2).map((n) => Buffer.from(n.value, 'binary').toString('latin1')),
    ipAddresses: altNames.filter((n) => n.type === 7).map((n) => bytesToIp(Buffer.from(n.value, 'binary'))),
  };
}

function children(node: Asn1 | undefined): Asn1[] {
  if (!node || !Array.isArray(node.value)) throw new Error('malformed DER structure');
  return node.value;
}

function bytes(node: Asn1 | undefined): string {
  if (!node || typeof node.value !== 'string') throw new Error('malformed DER structure');
  return node.value;
}

// Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }
function readName(node: Asn1 | undefined): NameAttribute[] {
  return children(node).flatMap((rdn) =>
    children(rdn).map((atv) => {
      const [type, value] = children(atv);
      return { type: asn1.derToOid(bytes(type)), value: decodeString(value) };
    }),
  );
}

function decodeString(node: Asn1 | undefined): string {
  const raw = Buffer.from(bytes(node), 'binary');
  switch (node?.type) {
    case asn1.Type.UTF8:
      return raw.toString('utf8');
    case asn1.Type.BMPSTRING:
      return raw.swap16().toString('utf16le');
    default:
      return raw.toString('latin1');
  }
}

function readTime(node: Asn1 | undefined): Date {
  if (node?.type === asn1.Type.UTCTIME) return asn1.utcTimeToDate(bytes(node));
  if (node?.type === asn1.Type.GENERALIZEDTIME) return asn1.generalizedTimeToDate(bytes(node));
  throw new Error('validity is not a UTCTime or GeneralizedTime');
}

// Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
// GeneralName: [2] dNSName IA5String, [7] iPAddress OCTET STRING
function subjectAltNames(extensions: Asn1[]): { type: number; value: string }[] {
  for (const ext of extensions) {
    const fields = children(ext);
    if (asn1.derToOid(bytes(fields[0])) !== Oid.subjectAltName) continue;
    const names = asn1.fromDer(forge.util.createBuffer(bytes(fields[fields.length - 1])));
    return children(names)
      .filter((n) => n.tagClass === asn1.Class.CONTEXT_SPECIFIC && (n.type === 2 || n.type === 7))
      .map((n) => ({ type: n.type, value: bytes(n) }));
  }
  return [];
}
