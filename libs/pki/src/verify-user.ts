import { AccessDeniedError } from '#libs/common';
import { issuerCaType } from './ca.js';
import { parseUserIdentity, type UserIdentity } from './identity.js';
import { inspectCert, verifyChain } from './inspect.js';

/**
 * The identity in a user certificate, once it is shown to be this cluster's and still valid: how a
 * service that receives a user's certificate from another process learns who the user is.
 */
export function verifyUserCert(certPem: string, userCaPems: string[], now = Date.now()): UserIdentity & { fingerprint: string } {
  let summary;
  try {
    summary = inspectCert(certPem);
  } catch (err) {
    throw new AccessDeniedError('the user certificate cannot be read', { cause: err });
  }
  if (summary.notAfter.getTime() <= now) throw new AccessDeniedError("your certificate has expired: run 'tsh login' again");
  if (issuerCaType(certPem) !== 'user' || !verifyChain(certPem, userCaPems)) {
    throw new AccessDeniedError('the client certificate is not a user certificate of this cluster');
  }
  return { ...parseUserIdentity(certPem), fingerprint: summary.fingerprintSha256 };
}
