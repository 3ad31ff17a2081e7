import { BadParameterError } from '#libs/common';
import type { CaType, CertificateAuthority } from './ca.js';
import { userSubject, type UserIdentity } from './identity.js';
import { ipToBytes } from './ip.js';
import { issueCertificate, leafExtensions } from './issue.js';
import { Oid } from './oids.js';

/** A user's TLS certificate (user CA, clientAuth) carrying roles, traits and the database route. */
export function signUserCert(
  ca: CertificateAuthority,
  publicKeyPem: string,
  identity: Omit<UserIdentity, 'expires'>,
  ttlMs: number,
): string {
  requireCa(ca, 'user');
  return issueCertificate({ publicKeyPem, subject: userSubject(identity), ttlMs, extensions: leafExtensions({ clientAuth: true }) }, ca);
}

/** A cluster process's certificate (host CA): CN = host id, O = system role, SANs when it serves TLS. */
export function signHostCert(
  ca: CertificateAuthority,
  publicKeyPem: string,
  opts: { hostId: string; systemRole: string; dnsNames?: string[]; ipAddresses?: string[]; ttlMs: number },
): string {
  requireCa(ca, 'host');
  if (!opts.hostId || !opts.systemRole) {
    throw new BadParameterError('a host certificate needs a host id and a system role');
  }
  const notIp = opts.ipAddresses?.find((ip) => !ipToBytes(ip));
  if (notIp !== undefined) throw new BadParameterError(`"${notIp}" is not an IPv4 or IPv6 address`);
  const sans = [...(opts.dnsNames ?? []), ...(opts.ipAddresses ?? [])];
  return issueCertificate(
    {
      publicKeyPem,
      subject: [
        { type: Oid.commonName, value: opts.hostId },
        { type: Oid.organization, value: opts.systemRole },
      ],
      ttlMs: opts.ttlMs,
      extensions: leafExtensions({ serverAuth: true, clientAuth: true }, sans),
    },
    ca,
  );
}

/** A database server's certificate (db CA), as `tctl auth sign --format=db --host=a,b` writes it. */
export function signDbServerCert(ca: CertificateAuthority, publicKeyPem: string, opts: { hosts: string[]; ttlMs: number }): string {
  requireCa(ca, 'db');
  const [first] = opts.hosts;
  if (!first) throw new BadParameterError('a database server certificate needs at least one host (--host)');
  return issueCertificate(
    {
      publicKeyPem,
      subject: [{ type: Oid.commonName, value: first }],
      ttlMs: opts.ttlMs,
      extensions: leafExtensions({ serverAuth: true }, opts.hosts),
    },
    ca,
  );
}

/** What the Database Service presents to PostgreSQL (db_client CA): `cert` auth maps CN to the database user. */
export function signDbClientCert(ca: CertificateAuthority, publicKeyPem: string, opts: { dbUser: string; ttlMs: number }): string {
  requireCa(ca, 'db_client');
  if (!opts.dbUser) throw new BadParameterError('a database client certificate needs a database user');
  return issueCertificate(
    {
      publicKeyPem,
      subject: [{ type: Oid.commonName, value: opts.dbUser }],
      ttlMs: opts.ttlMs,
      extensions: leafExtensions({ clientAuth: true }),
    },
    ca,
  );
}

function requireCa(ca: CertificateAuthority, type: CaType): void {
  if (ca.type !== type) {
    throw new BadParameterError(`this certificate must be signed by the ${type} CA, not the ${ca.type} CA`);
  }
}
