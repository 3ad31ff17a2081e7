import { BadParameterError } from '#libs/common';
import { Oid } from './oids.js';
import { attributeValues, firstAttribute, readCertificate, type NameAttribute } from './x509.js';

/** Where a user certificate routes: a database service, and who to be inside it. */
export interface DbRoute {
  serviceName: string;
  protocol: string;
  username?: string;
  database?: string;
  roles?: string[];
}

export interface UserIdentity {
  username: string;
  roles: string[];
  traits: Record<string, string[]>;
  dbRoute?: DbRoute;
  expires: Date;
}

/** A process (or the local admin) of the cluster, certified by the host CA. */
export interface HostIdentity {
  hostId: string;
  systemRole: string;
  expires: Date;
}

// Subject as Teleport encodes a TLS identity: CN = user, O = each role, postalCode = traits JSON,
// then the database route under 1.3.9999.2.x (one .19 attribute per database role).
export function userSubject(identity: Omit<UserIdentity, 'expires'>): NameAttribute[] {
  if (!identity.username) throw new BadParameterError('a user certificate needs a username');
  const subject: NameAttribute[] = [
    { type: Oid.commonName, value: identity.username },
    ...identity.roles.map((role) => ({ type: Oid.organization, value: role })),
    { type: Oid.postalCode, value: JSON.stringify(identity.traits) },
  ];
  const route = identity.dbRoute;
  if (route) {
    if (!route.serviceName || !route.protocol) {
      throw new BadParameterError('a database route needs a service name and a protocol');
    }
    subject.push({ type: Oid.dbServiceName, value: route.serviceName });
    subject.push({ type: Oid.dbProtocol, value: route.protocol });
    if (route.username !== undefined) subject.push({ type: Oid.dbUsername, value: route.username });
    if (route.database !== undefined) subject.push({ type: Oid.dbName, value: route.database });
    for (const role of route.roles ?? []) subject.push({ type: Oid.dbRoles, value: role });
  }
  return subject;
}

export function parseUserIdentity(certPem: string): UserIdentity {
  const cert = readCertificate(certPem);
  const subject = cert.subject;
  const username = firstAttribute(subject, Oid.commonName);
  if (!username) throw new BadParameterError('user certificate has no common name (username)');
  const identity: UserIdentity = {
    username,
    roles: attributeValues(subject, Oid.organization),
    traits: parseTraits(firstAttribute(subject, Oid.postalCode)),
    expires: cert.notAfter,
  };
  const route = parseRoute(subject);
  if (route) identity.dbRoute = route;
  return identity;
}

export function parseHostIdentity(certPem: string): HostIdentity {
  const cert = readCertificate(certPem);
  const hostId = firstAttribute(cert.subject, Oid.commonName);
  const systemRole = firstAttribute(cert.subject, Oid.organization);
  if (!hostId || !systemRole) {
    throw new BadParameterError('host certificate must name a host id (CN) and a system role (O)');
  }
  return { hostId, systemRole, expires: cert.notAfter };
}

function parseTraits(json: string | undefined): Record<string, string[]> {
  if (json === undefined) return {};
  let traits: unknown;
  try {
    traits = JSON.parse(json);
  } catch (err) {
    throw new BadParameterError('user certificate traits (postalCode) are not valid JSON', { cause: err });
  }
  const valid =
    typeof traits === 'object' &&
    traits !== null &&
    !Array.isArray(traits) &&
    Object.values(traits).every((v) => Array.isArray(v) && v.every((s) => typeof s === 'string'));
  if (!valid) throw new BadParameterError('user certificate traits (postalCode) must map names to lists of strings');
  return traits as Record<string, string[]>;
}

function parseRoute(subject: NameAttribute[]): DbRoute | undefined {
  const serviceName = firstAttribute(subject, Oid.dbServiceName);
  if (serviceName === undefined) return undefined;
  const protocol = firstAttribute(subject, Oid.dbProtocol);
  if (!protocol) throw new BadParameterError(`user certificate routes to "${serviceName}" but names no protocol`);
  const route: DbRoute = { serviceName, protocol };
  const username = firstAttribute(subject, Oid.dbUsername);
  const database = firstAttribute(subject, Oid.dbName);
  const roles = attributeValues(subject, Oid.dbRoles);
  if (username !== undefined) route.username = username;
  if (database !== undefined) route.database = database;
  if (roles.length > 0) route.roles = roles;
  return route;
}
