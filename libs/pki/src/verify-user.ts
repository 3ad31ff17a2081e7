import { AccessDeniedError, BoundedMap } from '#libs/common';
import { issuerCaType } from './ca.js';
import { parseUserIdentity, type UserIdentity } from './identity.js';
import { inspectCert, verifyChain } from './inspect.js';

export type VerifiedUser = UserIdentity & { fingerprint: string };

/** A verified certificate is trusted again without its signature check for this long (its expiry is always checked). */
const VERIFIED_FOR_MS = 60_000;
const MAX_VERIFIED = 1024;

/**
 * Certificates verified lately, by certificate and CA set: each connection of a user presents the same
 * certificate to the proxy, the broker and the Database Service, and parsing and checking it is most
 * of what they spend on a new session. A change of the CA set misses the cache.
 */
const verified = new BoundedMap<string, { user: VerifiedUser; notAfter: number; at: number }>(MAX_VERIFIED);

/**
 * The identity in a user certificate, once it is shown to be this cluster's and still valid: how a
 * service that receives a user's certificate from another process learns who the user is.
 */
export function verifyUserCert(certPem: string, userCaPems: string[], now = Date.now()): VerifiedUser {
  const key = `${certPem}\0${userCaPems.join('\0')}`;
  const hit = verified.get(key);
  if (hit && now - hit.at < VERIFIED_FOR_MS && now >= hit.at) {
    if (hit.notAfter <= now) throw expired();
    return { ...hit.user };
  }
  let summary;
  try {
    summary = inspectCert(certPem);
  } catch (err) {
    throw new AccessDeniedError('the user certificate cannot be read', { cause: err });
  }
  if (summary.notAfter.getTime() <= now) throw expired();
  if (issuerCaType(certPem) !== 'user' || !verifyChain(certPem, userCaPems)) {
    throw new AccessDeniedError('the client certificate is not a user certificate of this cluster');
  }
  const user = { ...parseUserIdentity(certPem), fingerprint: summary.fingerprintSha256 };
  verified.set(key, { user, notAfter: summary.notAfter.getTime(), at: now });
  return { ...user };
}

function expired(): AccessDeniedError {
  return new AccessDeniedError("your certificate has expired: run 'tsh login' again");
}
