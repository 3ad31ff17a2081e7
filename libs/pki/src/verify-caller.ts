import { AccessDeniedError } from '#libs/common';
import { issuerCaType } from './ca.js';
import { parseHostIdentity } from './identity.js';
import { verifyChain } from './inspect.js';
import { verifyUserCert } from './verify-user.js';

/** Who asked, as a certificate proves it: a user, or a cluster process or the local admin. */
export type VerifiedCaller =
  { kind: 'user'; name: string; roles: string[]; traits: Record<string, string[]> } | { kind: 'builtin'; name: string; systemRole: string };

/**
 * The caller named by a certificate another process forwarded (the proxy acting for the user who
 * presented it): a user certificate of the user CA, or a host certificate of the host CA. How a
 * service records who did something without taking a name from the request.
 */
export function verifyCaller(certPem: string, cas: { user: string[]; host: string[] }): VerifiedCaller {
  if (issuerCaType(certPem) === 'host') {
    if (!verifyChain(certPem, cas.host))
      throw new AccessDeniedError('the caller certificate is not a valid host certificate of this cluster');
    const host = parseHostIdentity(certPem);
    return { kind: 'builtin', name: host.hostId, systemRole: host.systemRole };
  }
  const user = verifyUserCert(certPem, cas.user);
  return { kind: 'user', name: user.username, roles: user.roles, traits: user.traits };
}
