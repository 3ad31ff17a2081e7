import { BadParameterError } from '#libs/common';
import { createCa, issuerCaType, type CaType, type CertificateAuthority } from './ca.js';
import { inspectCert } from './inspect.js';
import { generateKeyPair, type KeyPair } from './keys.js';
import { signDbClientCert, signDbServerCert, signHostCert, signUserCert } from './sign.js';
import { opensslVerify, opensslX509 } from './testing/openssl.js';

const HOUR = 3_600_000;
const cas = {} as Record<CaType, CertificateAuthority>;
let key: KeyPair;

beforeAll(async () => {
  [cas.user, cas.host, cas.db, cas.db_client, key] = await Promise.all([
    createCa('user', 'root'),
    createCa('host', 'root'),
    createCa('db', 'root'),
    createCa('db_client', 'root'),
    generateKeyPair(),
  ]);
});

function expectValidity(certPem: string, ttlMs: number) {
  const { notBefore, notAfter } = inspectCert(certPem);
  expect(Math.abs(notAfter.getTime() - (Date.now() + ttlMs))).toBeLessThan(60_000);
  expect(Math.abs(notBefore.getTime() - (Date.now() - 60_000))).toBeLessThan(60_000);
}

const subject = (certPem: string) => opensslX509(certPem, ['-subject', '-nameopt', 'RFC2253,-esc_msb']);
const extension = (certPem: string, name: string) => opensslX509(certPem, ['-ext', name]);

describe('signUserCert', () => {
  let cert: string;
  beforeAll(() => {
    const identity = { username: 'alice', roles: ['access', 'dba'], traits: {} };
    cert = signUserCert(cas.user, key.publicKeyPem, identity, 12 * HOUR);
  });

  it('verifies with openssl for client auth', () => {
    expect(opensslVerify(cas.user.certPem, cert, 'sslclient')).toContain(': OK');
  });

  it('names the user and roles, for client auth only, for the TTL', () => {
    expect(subject(cert)).toMatch(/^subject=.*O=dba,O=access,CN=alice\n$/);
    expect(extension(cert, 'extendedKeyUsage')).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n$/);
    expect(opensslVerify(cas.user.certPem, cert, 'sslserver')).toContain('FAILED');
    expect(issuerCaType(cert)).toBe('user');
    expectValidity(cert, 12 * HOUR);
  });
});

describe('signHostCert', () => {
  let cert: string;
  beforeAll(() => {
    cert = signHostCert(cas.host, key.publicKeyPem, {
      hostId: '5f1c3c1e-proxy',
      systemRole: 'Proxy',
      dnsNames: ['proxy.example.com', 'localhost'],
      ipAddresses: ['127.0.0.1', '::1', '2001:db8::5'],
      ttlMs: 24 * HOUR,
    });
  });

  it('verifies with openssl for server and client auth', () => {
    expect(opensslVerify(cas.host.certPem, cert, 'sslserver')).toContain(': OK');
    expect(opensslVerify(cas.host.certPem, cert, 'sslclient')).toContain(': OK');
  });

  it('names the host id and system role, with DNS and IP SANs', () => {
    expect(subject(cert)).toBe('subject=O=Proxy,CN=5f1c3c1e-proxy\n');
    expect(extension(cert, 'extendedKeyUsage')).toContain('TLS Web Server Authentication, TLS Web Client Authentication');
    expect(extension(cert, 'subjectAltName')).toContain(
      'DNS:proxy.example.com, DNS:localhost, ' + 'IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:5',
    );
    expect(inspectCert(cert)).toMatchObject({
      dnsNames: ['proxy.example.com', 'localhost'],
      ipAddresses: ['127.0.0.1', '::1', '2001:db8::5'],
    });
    expectValidity(cert, 24 * HOUR);
  });

  it('refuses an IP address that is not one', () => {
    const opts = { hostId: 'h', systemRole: 'Db', ipAddresses: ['db.example.com'], ttlMs: HOUR };
    expect(() => signHostCert(cas.host, key.publicKeyPem, opts)).toThrow(BadParameterError);
  });
});

describe('signDbServerCert', () => {
  let cert: string;
  beforeAll(() => {
    const hosts = ['db.example.com', '10.1.2.3', 'fd00::7'];
    cert = signDbServerCert(cas.db, key.publicKeyPem, { hosts, ttlMs: 2190 * HOUR });
  });

  it('verifies with openssl for server auth', () => {
    expect(opensslVerify(cas.db.certPem, cert, 'sslserver')).toContain(': OK');
  });

  it('has CN = the first host and every host as a SAN, for server auth only', () => {
    expect(subject(cert)).toBe('subject=CN=db.example.com\n');
    expect(extension(cert, 'subjectAltName')).toContain('DNS:db.example.com, IP Address:10.1.2.3, IP Address:FD00:0:0:0:0:0:0:7');
    expect(extension(cert, 'extendedKeyUsage')).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication\n$/);
    expectValidity(cert, 2190 * HOUR);
  });

  it('refuses an empty host list', () => {
    expect(() => signDbServerCert(cas.db, key.publicKeyPem, { hosts: [], ttlMs: HOUR })).toThrow(BadParameterError);
  });
});

describe('signDbClientCert', () => {
  let cert: string;
  beforeAll(() => {
    cert = signDbClientCert(cas.db_client, key.publicKeyPem, { dbUser: 'alice', ttlMs: 30 * 60_000 });
  });

  it('verifies with openssl for client auth', () => {
    expect(opensslVerify(cas.db_client.certPem, cert, 'sslclient')).toContain(': OK');
  });

  it('has CN = the database user, for client auth only', () => {
    expect(subject(cert)).toBe('subject=CN=alice\n');
    expect(extension(cert, 'extendedKeyUsage')).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n$/);
    expect(inspectCert(cert)).toMatchObject({ dnsNames: [], ipAddresses: [] });
    expectValidity(cert, 30 * 60_000);
  });
});

describe('every signer', () => {
  const signers: [CaType, (ca: CertificateAuthority, ttlMs: number) => string][] = [
    ['user', (ca, ttlMs) => signUserCert(ca, key.publicKeyPem, { username: 'alice', roles: [], traits: {} }, ttlMs)],
    ['host', (ca, ttlMs) => signHostCert(ca, key.publicKeyPem, { hostId: 'h', systemRole: 'Db', ttlMs })],
    ['db', (ca, ttlMs) => signDbServerCert(ca, key.publicKeyPem, { hosts: ['db'], ttlMs })],
    ['db_client', (ca, ttlMs) => signDbClientCert(ca, key.publicKeyPem, { dbUser: 'alice', ttlMs })],
  ];

  it.each(signers)('%s: refuses a CA of another type', (type, sign) => {
    const other = type === 'user' ? cas.db_client : cas.user;
    expect(() => sign(other, HOUR)).toThrow(BadParameterError);
    expect(() => sign(other, HOUR)).toThrow(`must be signed by the ${type} CA`);
  });

  it.each(signers)('%s: refuses a TTL that is not positive', (type, sign) => {
    for (const ttl of [0, -1, Number.NaN]) expect(() => sign(cas[type], ttl)).toThrow(BadParameterError);
  });

  it.each(signers)('%s: gives each certificate a positive 16-byte serial', (type, sign) => {
    const serials = [sign(cas[type], HOUR), sign(cas[type], HOUR)].map((c) => opensslX509(c, ['-serial']).trim());
    // 16 bytes, the first 0x01-0x7f: positive, and no leading zero byte in DER
    for (const serial of serials) expect(serial).toMatch(/^serial=(0[1-9A-F]|[1-7][0-9A-F])[0-9A-F]{30}$/);
    expect(serials[0]).not.toBe(serials[1]);
  });

  it('refuses a public key that is not PEM', () => {
    expect(() => signDbClientCert(cas.db_client, 'nope', { dbUser: 'alice', ttlMs: HOUR })).toThrow(BadParameterError);
  });
});
