import { AccessDeniedError } from '#libs/common';
import { createCa, type CertificateAuthority } from './ca.js';
import { generateKeyPair, type KeyPair } from './keys.js';
import { signUserCert } from './sign.js';
import { verifyUserCert } from './verify-user.js';

const HOUR = 3_600_000;
let userCa: CertificateAuthority;
let otherCa: CertificateAuthority;
let key: KeyPair;

beforeAll(async () => {
  [userCa, otherCa, key] = await Promise.all([createCa('user', 'root'), createCa('user', 'root'), generateKeyPair()]);
});

const sign = (ca: CertificateAuthority, username: string, ttlMs = HOUR) =>
  signUserCert(ca, key.publicKeyPem, { username, roles: ['access'], traits: {} }, ttlMs);

describe('verifyUserCert', () => {
  it('gives the same identity when the certificate is presented again', () => {
    const cert = sign(userCa, 'alice');
    const first = verifyUserCert(cert, [userCa.certPem]);
    expect(first.username).toBe('alice');
    expect(verifyUserCert(cert, [userCa.certPem])).toEqual(first);
  });

  it('checks a certificate verified earlier against another CA set anew', () => {
    const cert = sign(userCa, 'bob');
    verifyUserCert(cert, [userCa.certPem]);
    expect(() => verifyUserCert(cert, [otherCa.certPem])).toThrow(AccessDeniedError);
    expect(() => verifyUserCert(sign(otherCa, 'bob'), [userCa.certPem])).toThrow('not a user certificate of this cluster');
  });

  it('refuses a certificate verified earlier once it has expired', () => {
    const cert = sign(userCa, 'carol', 60_000);
    const now = Date.now();
    verifyUserCert(cert, [userCa.certPem], now);
    expect(() => verifyUserCert(cert, [userCa.certPem], now + 61_000)).toThrow('your certificate has expired');
  });
});
