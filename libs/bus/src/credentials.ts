import { decode, encodeUser, type User } from '@nats-io/jwt';
import { createUser, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { jwtAuthenticator, type Authenticator, type NatsConnection } from '@nats-io/transport-node';
import { Logger } from '@nestjs/common';
import { BadParameterError } from '#libs/common';
import type { BusSigner } from './bus-keys.js';
import { formatIdentity, type BusIdentity } from './identity.js';
import { permissionsFor } from './permissions.js';

/** Bus credentials of cluster processes live a day and are renewed at half their life. */
export const BUS_CREDENTIALS_TTL_MS = 24 * 60 * 60_000;

/**
 * A user JWT for `identity`, for the holder of `userPublicKey`: its permissions come from the table,
 * never from the request. Signed with the account's signing key.
 */
export async function issueBusJwt(signer: BusSigner, identity: BusIdentity, userPublicKey: string, ttlMs = BUS_CREDENTIALS_TTL_MS) {
  if (!userPublicKey.startsWith('U')) throw new BadParameterError('expected a NATS user public key (U...)');
  const permissions = permissionsFor(identity);
  const claims: Partial<User> = {
    pub: { allow: permissions.pub, deny: [] },
    sub: { allow: permissions.sub, deny: [] },
    ...(permissions.respond ? { resp: { max: 1, ttl: 0 } } : {}),
  };
  return encodeUser(`${identity.role}-${identity.id}`, userPublicKey, signer.account, claims, {
    signer: signer.signingKey,
    exp: Math.floor((Date.now() + ttlMs) / 1000),
  });
}

/** A new user key pair; its seed stays with the process that made it. */
export function newUserKey(): KeyPair {
  return createUser();
}

export function userKeyFromSeed(seed: string): KeyPair {
  return fromSeed(new TextEncoder().encode(seed));
}

/** When a JWT expires (its `exp`), or undefined if it never does. */
export function jwtExpiry(jwt: string): Date | undefined {
  const exp = decode(jwt).exp;
  return exp ? new Date(exp * 1000) : undefined;
}

/** Gets a fresh JWT for the same key: locally from the signing key, or from auth over the bus. */
export type JwtRenewer = (userPublicKey: string) => Promise<string>;

/** Credentials as a worker thread receives them (structured-cloneable): the renewals follow as JWTs. */
export interface TransferableCredentials {
  identity: BusIdentity;
  seed: string;
  jwt: string;
}

/**
 * One process's bus credentials: its identity, its user key, the current JWT. Connections made with
 * them present the current JWT at each (re)connect; `startRenewal` gets a new one at half the old
 * one's life and reconnects every tracked connection with it before the server would drop them.
 */
export class BusCredentials {
  private readonly connections = new Set<NatsConnection>();
  private readonly renewed: Array<(jwt: string) => void> = [];
  private timer?: NodeJS.Timeout;

  constructor(
    readonly identity: BusIdentity,
    private readonly key: KeyPair,
    private jwt: string,
  ) {}

  /** Credentials for `identity` signed here, with a key made here (the auth host's own processes). */
  static async local(signer: BusSigner, identity: BusIdentity, ttlMs = BUS_CREDENTIALS_TTL_MS): Promise<BusCredentials> {
    const key = newUserKey();
    const credentials = new BusCredentials(identity, key, await issueBusJwt(signer, identity, key.getPublicKey(), ttlMs));
    credentials.startRenewal((publicKey) => issueBusJwt(signer, identity, publicKey, ttlMs));
    return credentials;
  }

  static fromTransferable(t: TransferableCredentials): BusCredentials {
    return new BusCredentials(t.identity, userKeyFromSeed(t.seed), t.jwt);
  }

  toTransferable(): TransferableCredentials {
    return { identity: this.identity, seed: new TextDecoder().decode(this.key.getSeed()), jwt: this.jwt };
  }

  /** Calls `listener` with each renewed JWT (a worker thread holding the same key gets it). */
  onRenewed(listener: (jwt: string) => void): void {
    this.renewed.push(listener);
  }

  /** Takes a new JWT for the same key and reconnects every tracked connection with it. */
  async replaceJwt(jwt: string): Promise<void> {
    this.jwt = jwt;
    for (const nc of this.connections) await nc.reconnect().catch(() => undefined);
    for (const listener of this.renewed) listener(jwt);
  }

  get publicKey(): string {
    return this.key.getPublicKey();
  }

  authenticator(): Authenticator {
    return jwtAuthenticator(
      () => this.jwt,
      () => this.key.getSeed(),
    );
  }

  expires(): Date | undefined {
    return jwtExpiry(this.jwt);
  }

  track(nc: NatsConnection): void {
    this.connections.add(nc);
    void nc.closed().then(() => this.connections.delete(nc));
  }

  startRenewal(renew: JwtRenewer): void {
    const logger = new Logger('bus');
    const schedule = (delayMs: number) => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        renew(this.key.getPublicKey())
          .then(async (jwt) => {
            await this.replaceJwt(jwt);
            schedule(halfLife(jwt));
          })
          .catch((err: Error) => {
            logger.warn(`renewing the bus credentials of ${formatIdentity(this.identity)} failed: ${err.message}; retrying`);
            schedule(Math.min(30_000, halfLife(this.jwt)));
          });
      }, delayMs);
      this.timer.unref();
    };
    schedule(halfLife(this.jwt));
  }

  stopRenewal(): void {
    clearTimeout(this.timer);
  }

  /** The `.creds` file form, for NATS's own tools (`nats --creds`). */
  toCredsFile(): string {
    const seed = new TextDecoder().decode(this.key.getSeed());
    return [
      '-----BEGIN NATS USER JWT-----',
      this.jwt,
      '------END NATS USER JWT------',
      '',
      '************************* IMPORTANT *************************',
      'NKEY Seed printed below can be used to sign and prove identity.',
      'NKEYs are sensitive and should be treated as secrets.',
      '',
      '-----BEGIN USER NKEY SEED-----',
      seed,
      '------END USER NKEY SEED------',
      '',
      '*************************************************************',
      '',
    ].join('\n');
  }
}

/** Half the time left on a JWT (at least a second). */
function halfLife(jwt: string): number {
  const expires = jwtExpiry(jwt);
  return expires ? Math.max(1_000, (expires.getTime() - Date.now()) / 2) : 12 * 60 * 60_000;
}
