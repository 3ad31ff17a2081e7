import { BadParameterError } from '#libs/common';
import { createCa, type CaType, type CertificateAuthority } from './ca.js';
import { formatIdentityFile, parseIdentityFile, type IdentityFile } from './identity-file.js';
import { generateKeyPair, type KeyPair } from './keys.js';
import { decodePemBlocks, encodePem } from './pem.js';
import { signDbServerCert, signUserCert } from './sign.js';

const HOUR = 3_600_000;
const cas = {} as Record<CaType, CertificateAuthority>;
let key: KeyPair;
let otherKey: KeyPair;
let id: IdentityFile;

beforeAll(async () => {
  [cas.user, cas.host, cas.db, key, otherKey] = await Promise.all([
    createCa('user', 'root'),
    createCa('host', 'root'),
    createCa('db', 'root'),
    generateKeyPair(),
    generateKeyPair(),
  ]);
  id = {
    privateKeyPem: key.privateKeyPem,
    certPem: signUserCert(cas.user, key.publicKeyPem, { username: 'admin', roles: ['editor'], traits: {} }, HOUR),
    cas: { host: [cas.host.certPem], user: [cas.user.certPem], db: [cas.db.certPem] },
  };
});

describe('formatIdentityFile', () => {
  it('writes plain PEM: the key, the certificate, then the CAs by type', () => {
    const text = formatIdentityFile(id);
    expect(decodePemBlocks(text).map((b) => b.type)).toEqual(['PRIVATE KEY', 'CERTIFICATE', 'CERTIFICATE', 'CERTIFICATE', 'CERTIFICATE']);
    expect(text).toBe(key.privateKeyPem + id.certPem + cas.user.certPem + cas.host.certPem + cas.db.certPem);
  });
});

describe('parseIdentityFile', () => {
  it('round-trips', () => {
    expect(parseIdentityFile(formatIdentityFile(id))).toEqual(id);
  });

  it('reads a file with no CAs and CRLF line endings', () => {
    const text = formatIdentityFile({ ...id, cas: {} }).replaceAll('\n', '\r\n');
    expect(parseIdentityFile(text)).toEqual({ ...id, cas: {} });
  });

  it('refuses a file without a private key', () => {
    const text = id.certPem + cas.user.certPem;
    expect(() => parseIdentityFile(text)).toThrow(BadParameterError);
    expect(() => parseIdentityFile(text)).toThrow('identity file has no private key (PEM "PRIVATE KEY" block)');
  });

  it('refuses a file without a user certificate', () => {
    expect(() => parseIdentityFile(key.privateKeyPem)).toThrow('identity file has no user certificate');
    const onlyCas = key.privateKeyPem + cas.user.certPem;
    expect(() => parseIdentityFile(onlyCas)).toThrow('identity file has no user certificate');
  });

  it('refuses a key that does not match the certificate', () => {
    const text = formatIdentityFile({ ...id, privateKeyPem: otherKey.privateKeyPem });
    expect(() => parseIdentityFile(text)).toThrow(BadParameterError);
    expect(() => parseIdentityFile(text)).toThrow("identity file's private key does not match its certificate");
  });

  it('refuses a corrupted key', () => {
    const text = formatIdentityFile({ ...id, privateKeyPem: encodePem('PRIVATE KEY', Buffer.from('garbage')) });
    expect(() => parseIdentityFile(text)).toThrow("cannot read the identity file's private key");
  });

  it('refuses a trusted certificate that names no CA type', () => {
    const server = signDbServerCert(cas.db, key.publicKeyPem, { hosts: ['db.example.com'], ttlMs: HOUR });
    const text = formatIdentityFile(id) + server;
    expect(() => parseIdentityFile(text)).toThrow('CA certificate "db.example.com" in the identity file does not name its CA type');
  });
});
