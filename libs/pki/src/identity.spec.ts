import { BadParameterError } from '#libs/common';
import { createCa, type CertificateAuthority } from './ca.js';
import { parseHostIdentity, parseUserIdentity, type UserIdentity } from './identity.js';
import { generateKeyPair, type KeyPair } from './keys.js';
import { signDbClientCert, signHostCert, signUserCert } from './sign.js';
import { opensslVerify } from './testing/openssl.js';

const HOUR = 3_600_000;
let userCa: CertificateAuthority;
let key: KeyPair;

beforeAll(async () => {
  [userCa, key] = await Promise.all([createCa('user', 'root'), generateKeyPair()]);
});

function roundTrip(identity: Omit<UserIdentity, 'expires'>, ttlMs = HOUR): UserIdentity {
  return parseUserIdentity(signUserCert(userCa, key.publicKeyPem, identity, ttlMs));
}

describe('parseUserIdentity(signUserCert(identity))', () => {
  it('round-trips unicode traits and a route with several database roles', () => {
    const identity = {
      username: 'alice@example.com',
      roles: ['access', 'db-admins', 'équipe'],
      traits: {
        db_users: ['alice', 'postgres'],
        db_names: ['*'],
        logins: ['ålice', 'アリス', '😀'],
        'quotes"and,commas': ['a=b+c;d<e>\\'],
        empty: [],
      },
      dbRoute: {
        serviceName: 'example',
        protocol: 'postgres',
        username: 'alice',
        database: 'test',
        roles: ['reader', 'writer', 'auditor'],
      },
    };
    const parsed = roundTrip(identity, 8 * HOUR);
    expect(parsed).toEqual({ ...identity, expires: expect.any(Date) });
    expect(Math.abs(parsed.expires.getTime() - (Date.now() + 8 * HOUR))).toBeLessThan(60_000);
  });

  it('round-trips a route with only the service and protocol', () => {
    const dbRoute = { serviceName: 'pg', protocol: 'postgres' };
    const identity = { username: 'bob', roles: ['access'], traits: {}, dbRoute };
    expect(roundTrip(identity)).toEqual({ ...identity, expires: expect.any(Date) });
  });

  it('gives no route when the certificate names none', () => {
    const parsed = roundTrip({ username: 'carol', roles: [], traits: {} });
    expect(parsed).toEqual({ username: 'carol', roles: [], traits: {}, expires: expect.any(Date) });
    expect(parsed).not.toHaveProperty('dbRoute');
  });

  it('writes a certificate openssl accepts despite the private attributes', () => {
    const identity = {
      username: 'ålice',
      roles: ['access'],
      traits: { logins: ['アリス'] },
      dbRoute: { serviceName: 'example', protocol: 'postgres', roles: ['a', 'b'] },
    };
    const cert = signUserCert(userCa, key.publicKeyPem, identity, HOUR);
    expect(opensslVerify(userCa.certPem, cert, 'sslclient')).toContain(': OK');
  });

  it('refuses an empty username or an incomplete route', () => {
    expect(() => roundTrip({ username: '', roles: [], traits: {} })).toThrow(BadParameterError);
    const route = { serviceName: 'example', protocol: '' };
    expect(() => roundTrip({ username: 'alice', roles: [], traits: {}, dbRoute: route })).toThrow(BadParameterError);
  });
});

describe('parseHostIdentity', () => {
  it('reads the host id, system role and expiry', async () => {
    const hostCa = await createCa('host', 'root');
    const cert = signHostCert(hostCa, key.publicKeyPem, { hostId: 'admin-1', systemRole: 'Admin', ttlMs: 2 * HOUR });
    const identity = parseHostIdentity(cert);
    expect(identity).toEqual({ hostId: 'admin-1', systemRole: 'Admin', expires: expect.any(Date) });
    expect(Math.abs(identity.expires.getTime() - (Date.now() + 2 * HOUR))).toBeLessThan(60_000);
  });

  it('refuses a certificate without a system role', async () => {
    const dbClientCa = await createCa('db_client', 'root');
    const cert = signDbClientCert(dbClientCa, key.publicKeyPem, { dbUser: 'alice', ttlMs: HOUR });
    expect(() => parseHostIdentity(cert)).toThrow(BadParameterError);
  });
});
