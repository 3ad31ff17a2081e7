import type { CertAuthorityEvents } from '#libs/events';
import type { Decider } from '#libs/eventstore';

export interface CaState {
  type?: string;
  clusterName?: string;
  certPem?: string;
  sealedKey?: string;
}

export type CaCommand = { type: 'create'; caType: string; clusterName: string; certPem: string; sealedKey: string };

/** A CA is created once, by whichever auth replica gets there first; the others adopt it. */
export const caDecider: Decider<CaCommand, CaState, CertAuthorityEvents> = {
  initialState: () => ({}),
  evolve: (_state, event) => ({
    type: event.data.type,
    clusterName: event.data.cluster_name,
    certPem: event.data.cert_pem,
    sealedKey: event.data.sealed_key,
  }),
  decide: (command, state) =>
    state.certPem
      ? []
      : [
          {
            type: 'ca.created',
            data: { type: command.caType, cluster_name: command.clusterName, cert_pem: command.certPem, sealed_key: command.sealedKey },
          },
        ],
};
