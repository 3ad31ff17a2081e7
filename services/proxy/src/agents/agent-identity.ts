import type { TLSSocket } from 'node:tls';
import { certificatePem, issuerCaType, parseHostIdentity, verifyChain } from '#libs/pki';

/**
 * The host id of an agent on `socket` (a Database Service, or provisioning on its own host), from its
 * client certificate: issued by this cluster's host CA, valid now, for one of `roles`. Undefined for
 * anything else.
 */
export function agentHostId(socket: TLSSocket, hostCas: string[], roles: Set<string>): string | undefined {
  const peer = socket.getPeerCertificate();
  if (!peer?.raw) return undefined;
  try {
    const pem = certificatePem(peer.raw);
    if (issuerCaType(pem) !== 'host' || !verifyChain(pem, hostCas)) return undefined;
    const identity = parseHostIdentity(pem);
    return roles.has(identity.systemRole) ? identity.hostId : undefined;
  } catch {
    return undefined;
  }
}
