import { Logger } from '@nestjs/common';
import { InternalError } from '#libs/common';
import { Aggregate, clusterSubject, type CaCerts } from '#libs/events';
import type { EventStore } from '#libs/eventstore';
import {
  CA_TYPES,
  caPin,
  createCa,
  openPrivateKey,
  sealPrivateKey,
  type CaType,
  type CertificateAuthority,
  verifyCaller,
  type VerifiedCaller,
} from '#libs/pki';
import type { AuthView } from '../auth.view.js';
import { caDecider } from './ca.decider.js';

/** The cluster's four CAs. Private keys are sealed with the key-encryption key in the stream and opened only in memory here. */
export class CertAuthorities {
  private readonly logger = new Logger('auth');
  private readonly opened = new Map<CaType, CertificateAuthority>();

  constructor(
    private readonly store: EventStore,
    private readonly view: AuthView,
    private readonly kek: Buffer,
  ) {}

  /** Creates the CAs that do not exist yet; the cluster name of existing CAs wins over the configured one. */
  async ensure(configuredClusterName: string): Promise<void> {
    const clusterName = this.view.cas.get('host')?.clusterName ?? configuredClusterName;
    if (clusterName !== configuredClusterName) {
      this.logger.warn(
        `cluster name is "${clusterName}" (set when the cluster was created); ignoring auth_service.cluster_name "${configuredClusterName}"`,
      );
    }
    await Promise.all(
      CA_TYPES.filter((type) => !this.view.cas.get(type)?.certPem).map(async (type) => {
        const ca = await createCa(type, clusterName);
        const { state } = await this.store.handle(clusterSubject(Aggregate.CertAuthority, type), caDecider, {
          type: 'create',
          caType: type,
          clusterName,
          certPem: ca.certPem,
          sealedKey: sealPrivateKey(ca.privateKeyPem, this.kek),
        });
        this.view.cas.set(type, state);
        this.logger.log(`created the ${type} certificate authority`);
      }),
    );
    // Fails here, at start, when the key-encryption key is not the one the CAs were sealed with.
    for (const type of CA_TYPES) this.get(type);
  }

  clusterName(): string {
    const name = this.view.cas.get('host')?.clusterName;
    if (!name) throw new InternalError('certificate authorities are not initialized');
    return name;
  }

  get(type: CaType): CertificateAuthority {
    const cached = this.opened.get(type);
    if (cached) return cached;
    const state = this.view.cas.get(type);
    if (!state?.certPem || !state.sealedKey) throw new InternalError(`the ${type} CA is not initialized`);
    const ca: CertificateAuthority = {
      type,
      clusterName: state.clusterName ?? this.clusterName(),
      certPem: state.certPem,
      privateKeyPem: openPrivateKey(state.sealedKey, this.kek),
    };
    this.opened.set(type, ca);
    return ca;
  }

  certs(type: CaType): string[] {
    const pem = this.view.cas.get(type)?.certPem;
    return pem ? [pem] : [];
  }

  allCerts(): CaCerts {
    return Object.fromEntries(CA_TYPES.map((type) => [type, this.certs(type)]));
  }

  hostPins(): string[] {
    return this.certs('host').map(caPin);
  }

  /** Who asked, from the certificate the proxy forwarded: a user of the user CA, or a host (the local admin). */
  caller(certPem: string): VerifiedCaller {
    return verifyCaller(certPem, { user: this.certs('user'), host: this.certs('host') });
  }
}
