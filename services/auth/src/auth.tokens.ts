/** Nest injection tokens of the auth module's plain-class providers. */
export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');
