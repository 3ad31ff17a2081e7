import type { EventOf } from './envelope.js';

// Events of the CLUSTER stream, per aggregate. Field names are snake_case: they are stored forever.

export type Traits = Record<string, string[]>;

export type UserEvents = EventOf<{
  'user.created': { name: string; roles: string[]; traits: Traits; created_by: string };
  'user.updated': { roles: string[]; traits: Traits };
  'user.deleted': Record<string, never>;
  /** A signup (invite) or reset link; only the SHA-256 of the token is kept. */
  'user.token.issued': { kind: 'invite' | 'reset'; token_hash: string; expires: string };
  /** `password_hash` is an scrypt hash (see the auth service); the link that set it is spent. */
  'user.password.set': { password_hash: string; token_hash: string };
  'user.login.failed': { at: string };
  'user.login.succeeded': Record<string, never>;
}>;

export type RoleEvents = EventOf<{
  /** The role resource as validated by libs/rbac. */
  'role.upserted': { role: unknown; builtin: boolean };
  'role.deleted': Record<string, never>;
}>;

export type TokenEvents = EventOf<{
  /** `sealed_token` is the token encrypted with the auth service's key-encryption key. */
  'token.created': { roles: string[]; sealed_token: string; expires: string };
  'token.deleted': Record<string, never>;
}>;

export type CertAuthorityEvents = EventOf<{
  /** `sealed_key` is the CA private key encrypted with the key-encryption key; never the key itself. */
  'ca.created': { type: string; cluster_name: string; cert_pem: string; sealed_key: string };
}>;

export type DbEvents = EventOf<{
  'db.upserted': { resource: unknown; origin: 'dynamic' | 'config' };
  'db.deleted': Record<string, never>;
}>;

export type LockEvents = EventOf<{
  /** The lock resource as validated by libs/rbac, `created_by` from the caller's certificate. */
  'lock.upserted': { lock: unknown };
  'lock.deleted': Record<string, never>;
}>;

export type ClusterEvent = UserEvents | RoleEvents | TokenEvents | CertAuthorityEvents | DbEvents | LockEvents;
