import type { PeerCertificate } from 'node:tls';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, RpcClient } from '#libs/bus';
import { INTERNAL_SERVER_NAME } from '#libs/pki';
import type { JoinedProcess } from './joined-identity.js';

/** Only a proxy of this cluster: a host certificate (chain checked against the host CA) for the role Proxy. */
export function checkProxyIdentity(_host: string, cert: PeerCertificate): Error | undefined {
  const role = [cert.subject?.O].flat()[0];
  return role === 'Proxy' ? undefined : new Error(`the server's certificate is not a proxy's of this cluster (role ${role ?? 'none'})`);
}

/**
 * A joined agent's bus connection, through the proxy it joined (TLS with its host certificate, ALPN
 * dbaccess-nats; its NATS credentials inside). Its identity is renewed over it, and renewals apply to
 * the next reconnect.
 */
export async function connectAgentBus(agent: JoinedProcess, name: string): Promise<{ nc: NatsConnection; rpc: RpcClient }> {
  const tlsOf = () => {
    const { certPem, privateKeyPem, hostCas } = agent.tls();
    return { cert: certPem, key: privateKeyPem, ca: hostCas };
  };
  const tls = { ...tlsOf(), servername: INTERNAL_SERVER_NAME, checkServerIdentity: checkProxyIdentity };
  const nc = await connectNats({ servers: [`tls://${agent.proxyAddr}`], credentials: agent.credentials, tls }, name);
  const rpc = new RpcClient(nc, agent.credentials.identity);
  agent.startRenewal(rpc, () => Object.assign(tls, tlsOf()));
  return { nc, rpc };
}
