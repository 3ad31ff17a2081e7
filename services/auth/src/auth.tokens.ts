/** Nest injection tokens of the auth module's plain-value providers. */
export const BUS_SIGNER = Symbol('BUS_SIGNER');
