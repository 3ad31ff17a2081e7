import { X509Certificate } from 'node:crypto';
import { jest } from '@jest/globals';
import { BadParameterError } from '#libs/common';
import { createCa, type CertificateAuthority } from './ca.js';
import { inspectCert, verifyChain } from './inspect.js';
import { generateKeyPair, type KeyPair } from './keys.js';
import { splitPemCerts } from './pem.js';
import { signDbServerCert, signUserCert } from './sign.js';

const HOUR = 3_600_000;
let dbCa: CertificateAuthority;
let otherDbCa: CertificateAuthority;
let userCa: CertificateAuthority;
let key: KeyPair;
let serverCert: string;

beforeAll(async () => {
  [dbCa, otherDbCa, userCa, key] = await Promise.all([
    createCa('db', 'root'),
    createCa('db', 'root'),
    createCa('user', 'root'),
    generateKeyPair(),
  ]);
  const hosts = ['db.example.com', '192.0.2.10', '2001:db8::1'];
  serverCert = signDbServerCert(dbCa, key.publicKeyPem, { hosts, ttlMs: HOUR });
});

describe('inspectCert', () => {
  it('summarizes names, SANs, validity and fingerprint', () => {
    const node = new X509Certificate(serverCert);
    expect(inspectCert(serverCert)).toEqual({
      subjectCommonName: 'db.example.com',
      issuerCommonName: 'root',
      notBefore: new Date(node.validFrom),
      notAfter: new Date(node.validTo),
      dnsNames: ['db.example.com'],
      ipAddresses: ['192.0.2.10', '2001:db8::1'],
      fingerprintSha256: node.fingerprint256.replaceAll(':', '').toLowerCase(),
    });
  });

  it('refuses text without a certificate', () => {
    expect(() => inspectCert('')).toThrow(BadParameterError);
    expect(() => inspectCert(key.publicKeyPem)).toThrow(BadParameterError);
  });
});

describe('splitPemCerts', () => {
  it('returns every CERTIFICATE block of a bundle, skipping keys and text', () => {
    const crlf = otherDbCa.certPem.replaceAll('\n', '\r\n');
    const bundle = `# db CAs\n${dbCa.certPem}\n${key.privateKeyPem}${crlf}trailer\n`;
    expect(splitPemCerts(bundle)).toEqual([dbCa.certPem, otherDbCa.certPem]);
    expect(splitPemCerts('no certificates here')).toEqual([]);
  });
});

describe('verifyChain', () => {
  it('accepts a certificate signed by one of the CAs', () => {
    expect(verifyChain(serverCert, [dbCa.certPem])).toBe(true);
    expect(verifyChain(serverCert, [userCa.certPem, dbCa.certPem])).toBe(true);
    expect(verifyChain(serverCert, [otherDbCa.certPem + dbCa.certPem])).toBe(true);
  });

  it('refuses a certificate signed by another CA of the same type and name', () => {
    expect(verifyChain(serverCert, [otherDbCa.certPem])).toBe(false);
    expect(verifyChain(serverCert, [userCa.certPem])).toBe(false);
    expect(verifyChain(serverCert, [])).toBe(false);
  });

  it('refuses a leaf certificate as a CA', () => {
    const user = signUserCert(userCa, key.publicKeyPem, { username: 'alice', roles: [], traits: {} }, HOUR);
    expect(verifyChain(user, [user])).toBe(false);
  });

  it('refuses a certificate outside its validity', () => {
    jest.useFakeTimers({ now: Date.now() + 2 * HOUR });
    try {
      expect(verifyChain(serverCert, [dbCa.certPem])).toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });
});
