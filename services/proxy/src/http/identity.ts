import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { AccessDeniedError } from '#libs/common';
import type { AuthRpc } from '#libs/events';
import { certificatePem, issuerCaType, parseHostIdentity, parseUserIdentity } from '#libs/pki';

export type Caller =
  | {
      kind: 'user';
      name: string;
      roles: string[];
      traits: Record<string, string[]>;
      expires: Date;
      /** A user signed in with a client certificate (tsh) has it; one signed in to the web UI has `web`. */
      certPem?: string;
      web?: AuthRpc.WebSessionView;
    }
  | { kind: 'builtin'; name: string; systemRole: string; expires: Date; certPem: string };

/**
 * The caller named by the TLS client certificate: a user (signed by the user CA) or a cluster
 * process or the local admin (signed by the host CA). Undefined when no certificate was sent.
 */
export function callerOf(req: IncomingMessage): Caller | undefined {
  const socket = req.socket as TLSSocket;
  const peer = socket.getPeerCertificate?.();
  if (!peer || !peer.raw) return undefined;
  if (!socket.authorized) {
    const reason = String(socket.authorizationError ?? '');
    if (reason === 'CERT_HAS_EXPIRED') {
      throw new AccessDeniedError(
        "your credentials have expired: run 'tsh login' again (or issue a new identity file with 'tctl auth sign')",
      );
    }
    throw new AccessDeniedError(
      `the client certificate is not trusted by this cluster (${reason || 'unknown issuer'}); log in again with 'tsh login'`,
    );
  }
  const pem = certificatePem(peer.raw);
  switch (issuerCaType(pem)) {
    case 'user': {
      const id = parseUserIdentity(pem);
      return { kind: 'user', name: id.username, roles: id.roles, traits: id.traits, expires: id.expires, certPem: pem };
    }
    case 'host': {
      const id = parseHostIdentity(pem);
      return { kind: 'builtin', name: id.hostId, systemRole: id.systemRole, expires: id.expires, certPem: pem };
    }
    default:
      throw new AccessDeniedError('the client certificate was not issued for this purpose');
  }
}
