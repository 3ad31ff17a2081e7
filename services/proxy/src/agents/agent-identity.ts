import type { TLSSocket } from 'node:tls';
import { certificatePem, issuerCaType, parseHostIdentity, verifyChain } from '#libs/pki';

/** System roles of host certificates that may open agent connections (tunnels, the bus). */
const AGENT_ROLES = new Set(['Db']);

/**
 * The host id of a Database Service on `socket`, from its client certificate: issued by this cluster's
 * host CA, valid now, for an agent role. Undefined for anything else.
 */
export function agentHostId(socket: TLSSocket, hostCas: string[]): string | undefined {
  const peer = socket.getPeerCertificate();
  if (!peer?.raw) return undefined;
  try {
    const pem = certificatePem(peer.raw);
    if (issuerCaType(pem) !== 'host' || !verifyChain(pem, hostCas)) return undefined;
    const identity = parseHostIdentity(pem);
    return AGENT_ROLES.has(identity.systemRole) ? identity.hostId : undefined;
  } catch {
    return undefined;
  }
}
