import { createPublicKey } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { BusCredentials, busIdentity, BusRole, userKeyFromSeed, type RpcClient } from '#libs/bus';
import { Rpc, type AuthRpc } from '#libs/events';
import { JOIN_ROLES, saveIdentity, type JoinedIdentity, type JoinRole } from './join.js';

/** The host certificate and CAs a joined process dials with. */
export interface AgentTls {
  certPem: string;
  privateKeyPem: string;
  hostCas: string[];
}

/**
 * The identity a joined process runs with: its host certificate and its bus credentials, renewed
 * together over the bus before they expire and saved to the data dir, so the process never needs its
 * join token again while it runs.
 */
export class JoinedProcess {
  readonly credentials: BusCredentials;
  private joined: JoinedIdentity;

  constructor(
    joined: JoinedIdentity,
    private readonly role: JoinRole,
    hostId: string,
    private readonly dataDir: string,
    /** Whether renewals are written to the data dir (not by a proxy worker: the first process does). */
    private readonly options: { persist: boolean } = { persist: true },
  ) {
    this.joined = joined;
    const busRole = { Db: BusRole.Db, Proxy: BusRole.Proxy, Provisioning: BusRole.Provisioning }[role];
    this.credentials = new BusCredentials(busIdentity(busRole, hostId), userKeyFromSeed(joined.busSeed), joined.busJwt);
  }

  get clusterName(): string {
    return this.joined.clusterName;
  }

  get proxyAddr(): string {
    return this.joined.proxyAddr;
  }

  tls(): AgentTls {
    const { identity } = this.joined;
    return { certPem: identity.certPem, privateKeyPem: identity.privateKeyPem, hostCas: identity.cas.host ?? [] };
  }

  userCas(): string[] {
    return this.joined.identity.cas.user ?? [];
  }

  /** Renews at half the credentials' life: a new host certificate and bus JWT for the same keys. */
  startRenewal(rpc: RpcClient, onRenewed: () => void = () => {}): void {
    this.credentials.startRenewal(async (busPublicKey) => {
      const { identity } = this.joined;
      const publicKey = createPublicKey(identity.privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
      const reply = await rpc.call<AuthRpc.JoinReply>(Rpc.Auth.Renew, { public_key: publicKey, bus_public_key: busPublicKey });
      this.joined = { ...this.joined, identity: { ...identity, certPem: reply.cert, cas: reply.cas }, busJwt: reply.bus_jwt };
      if (this.options.persist) saveIdentity(this.dataDir, this.role, this.joined);
      onRenewed();
      new Logger(JOIN_ROLES[this.role]).log('renewed the host certificate and bus credentials');
      return reply.bus_jwt;
    });
  }
}
