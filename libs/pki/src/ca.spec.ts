import { BadParameterError } from '#libs/common';
import { CA_TYPES, caPin, createCa, issuerCaType, type CertificateAuthority } from './ca.js';
import { inspectCert } from './inspect.js';
import { generateKeyPair } from './keys.js';
import { opensslVerify, opensslX509, shell } from './testing/openssl.js';

const YEAR_MS = 365 * 24 * 3_600_000;

describe('createCa', () => {
  let ca: CertificateAuthority;
  beforeAll(async () => {
    ca = await createCa('db_client', 'root.example.com');
  });

  it('is self-signed and verifies with openssl', () => {
    expect(opensslVerify(ca.certPem, ca.certPem)).toContain(': OK');
  });

  it('names the cluster and its type in the subject', () => {
    expect(opensslX509(ca.certPem, ['-subject', '-issuer', '-nameopt', 'RFC2253'])).toBe(
      'subject=OU=db_client,O=root.example.com,CN=root.example.com\n' + 'issuer=OU=db_client,O=root.example.com,CN=root.example.com\n',
    );
    expect(issuerCaType(ca.certPem)).toBe('db_client');
    expect(ca).toMatchObject({ type: 'db_client', clusterName: 'root.example.com' });
  });

  it('is a CA for 10 years', () => {
    const ext = opensslX509(ca.certPem, ['-ext', 'basicConstraints,keyUsage']);
    expect(ext).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(ext).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    const { notBefore, notAfter } = inspectCert(ca.certPem);
    expect(Math.abs(notAfter.getTime() - Date.now() - 10 * YEAR_MS)).toBeLessThan(60_000);
    expect(Math.abs(notBefore.getTime() - (Date.now() - 60_000))).toBeLessThan(5_000);
  });

  it('keeps its private key as PKCS#8 PEM', () => {
    expect(ca.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('has a CA pin equal to the SHA-256 of its SubjectPublicKeyInfo', () => {
    const expected = shell('openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum', ca.certPem);
    expect(caPin(ca.certPem)).toBe(`sha256:${expected.split(' ')[0]}`);
    expect(caPin(ca.certPem)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('refuses an unknown type or an empty cluster name', async () => {
    await expect(createCa('ssh' as never, 'root')).rejects.toThrow(BadParameterError);
    await expect(createCa('user', '')).rejects.toThrow(BadParameterError);
  });

  it('lists the four CA types', () => {
    expect(CA_TYPES).toEqual(['user', 'host', 'db', 'db_client']);
  });
});

describe('generateKeyPair', () => {
  it('writes PKCS#8 private and SPKI public PEM', async () => {
    const keys = await generateKeyPair();
    expect(keys.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(keys.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const bits = shell('openssl pkey -pubin -noout -text | head -1', keys.publicKeyPem);
    expect(bits).toContain('2048 bit');
  });
});

describe('caPin / issuerCaType', () => {
  it('refuse text that is not a certificate', () => {
    expect(() => caPin('hello')).toThrow(BadParameterError);
    expect(() => issuerCaType('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toThrow(BadParameterError);
  });
});
