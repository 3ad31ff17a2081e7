import { RpcClient } from '#libs/bus';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { Logger } from '@nestjs/common';
import { ConnectionProblemError, DomainError } from '#libs/common';
import { Rpc, type CaCerts, type SignedCert } from '#libs/events';
import { generateKeyPair, INTERNAL_SERVER_NAME } from '#libs/pki';

export const PROXY_CERT_TTL_MS = 24 * 60 * 60_000;

export interface HostCredentials {
  privateKeyPem: string;
  certPem: string;
  cas: CaCerts;
  expires: Date;
}

/** Names the proxy's certificate answers to: loopback, this host, its public addresses, and the name cluster processes ask for. */
export function proxySans(publicHosts: string[]): { dns_names: string[]; ip_addresses: string[] } {
  const names = new Set(['localhost', hostname(), '127.0.0.1', '::1', INTERNAL_SERVER_NAME, ...publicHosts]);
  return {
    dns_names: [...names].filter((n) => !isIP(n)),
    ip_addresses: [...names].filter((n) => isIP(n)),
  };
}

/** Asks auth for a Proxy host certificate, waiting for auth to come up (it may start after us). */
export async function obtainProxyCredentials(rpc: RpcClient, publicHosts: string[], waitMs = 60_000): Promise<HostCredentials> {
  const logger = new Logger('proxy');
  const keys = await generateKeyPair();
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const signed = await rpc.call<SignedCert>(
        Rpc.Auth.SignHost,
        {
          public_key: keys.publicKeyPem,
          ...proxySans(publicHosts),
          ttl_ms: PROXY_CERT_TTL_MS,
        },
        5_000,
      );
      return {
        privateKeyPem: keys.privateKeyPem,
        certPem: signed.cert,
        cas: signed.cas,
        expires: new Date(Date.now() + PROXY_CERT_TTL_MS),
      };
    } catch (err) {
      const retryable = err instanceof ConnectionProblemError || (err instanceof DomainError && /not initialized/.test(err.message));
      if (!retryable || Date.now() > deadline) throw err;
      if (attempt === 0) logger.log('waiting for the auth service...');
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
