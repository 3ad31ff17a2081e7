import { z } from 'zod';
import { CallerCertSchema, NameSchema, PublicKeyPemSchema, TraitsSchema, TtlMsSchema, type SignedCert } from './common.js';

// Payloads of the auth service's request/reply subjects (Rpc.Auth). Replies are plain JSON.

export const PingRequest = z.object({}).strict();
export interface PingReply {
  cluster_name: string;
  server_version: string;
  /** `sha256:<hex>` of the host CA's public key, as `tctl status` prints it. */
  ca_pins: string[];
}

export const CasExportRequest = z.object({ type: z.enum(['user', 'host', 'db', 'db_client']) }).strict();

export const UsersCreateRequest = z
  .object({
    caller_cert: CallerCertSchema,
    name: NameSchema,
    roles: z.array(NameSchema).min(1, 'at least one role is required (--roles)'),
    traits: TraitsSchema,
  })
  .strict();
export interface PasswordLinkReply {
  user: string;
  token: string;
  expires: string;
}

export const UserNameRequest = z.object({ name: NameSchema }).strict();
export const UsersListRequest = z.object({}).strict();
export interface UserView {
  name: string;
  roles: string[];
  traits: Record<string, string[]>;
  created_by: string;
  has_password: boolean;
  locked_until?: string;
}

export const UsersUpdateRequest = z
  .object({ name: NameSchema, roles: z.array(NameSchema).min(1).optional(), traits: TraitsSchema.optional() })
  .strict();

export const PasswordTokenGetRequest = z.object({ token: z.string().min(1) }).strict();
export interface PasswordTokenView {
  user: string;
  kind: 'invite' | 'reset';
  expires: string;
}
export const PasswordSetRequest = z.object({ token: z.string().min(1), password: z.string() }).strict();

export const LoginRequest = z
  .object({ user: NameSchema, password: z.string(), public_key: PublicKeyPemSchema, ttl_ms: TtlMsSchema.optional() })
  .strict();

/** The web UI's sign-in: the same check as `tsh login`, giving a session token in place of a certificate. */
export const WebSessionCreateRequest = z.object({ user: NameSchema, password: z.string().max(1024) }).strict();
/** The token of a web session's cookie: 32 random bytes, hex. */
export const WebSessionTokenRequest = z.object({ token: z.string().regex(/^[0-9a-f]{64}$/) }).strict();

export interface WebSessionView {
  user: string;
  /** The user's roles and traits as they are now, not as they were at sign-in. */
  roles: string[];
  traits: Record<string, string[]>;
  expires: string;
  /** Sent back by the page in X-CSRF-Token with every request that changes something. */
  csrf_token: string;
}

export const RolesUpsertRequest = z.object({ role: z.unknown(), must_not_exist: z.boolean() }).strict();
export const RolesListRequest = z.object({}).strict();

/** A `kind: lock` resource, validated by the auth service; without `metadata.name` it gets a UUID. */
export const LocksUpsertRequest = z.object({ caller_cert: CallerCertSchema, lock: z.unknown(), must_not_exist: z.boolean() }).strict();
export const LocksListRequest = z.object({}).strict();
export const LockNameRequest = z.object({ name: NameSchema }).strict();
export const LocksDeleteRequest = z.object({ caller_cert: CallerCertSchema, name: NameSchema }).strict();

export const TokensCreateRequest = z
  .object({ roles: z.array(z.enum(['Db', 'Proxy', 'Provisioning'])).min(1), ttl_ms: TtlMsSchema, token: z.string().min(8).optional() })
  .strict();
export const TokensListRequest = z.object({}).strict();
export const TokenRequest = z.object({ token: z.string().min(1) }).strict();
export interface TokenView {
  token: string;
  roles: string[];
  expires: string;
}

/** A NATS user public key: the joining process keeps its seed and gets credentials for the key. */
export const BusPublicKeySchema = z.string().regex(/^U[A-Z2-7]{55}$/, 'expected a NATS user public key (U...)');

/** Host ids name the process in certificates and on the bus: one subject token. */
export const HostIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "a host id is letters, digits, '-' and '_'");

export const JoinRequest = z
  .object({
    token: z.string().min(1),
    role: z.enum(['Db', 'Proxy', 'Provisioning']),
    host_id: HostIdSchema,
    public_key: PublicKeyPemSchema,
    bus_public_key: BusPublicKeySchema,
    dns_names: z.array(z.string()).default([]),
    ip_addresses: z.array(z.string()).default([]),
  })
  .strict();
/** What joining gives a process: its host certificate, the CAs, and its bus credentials. */
export interface JoinReply extends SignedCert {
  bus_jwt: string;
}

/** A process's own host certificate (the proxy's): the role and host id are the sender's on the bus. */
export const SignHostRequest = z
  .object({
    public_key: PublicKeyPemSchema,
    dns_names: z.array(z.string()).default([]),
    ip_addresses: z.array(z.string()).default([]),
    ttl_ms: TtlMsSchema,
  })
  .strict();

/** A joined process renews its host certificate and bus credentials before they expire. */
export const RenewRequest = z.object({ public_key: PublicKeyPemSchema, bus_public_key: BusPublicKeySchema }).strict();

export const SignDbServerRequest = z
  .object({
    hosts: z.array(z.string().min(1)).min(1, 'at least one host is required (--host)'),
    public_key: PublicKeyPemSchema,
    ttl_ms: TtlMsSchema,
  })
  .strict();

/** A client certificate for a database user, signed by the db_client CA: what the Database Service presents to PostgreSQL. */
export const SignDbClientRequest = z
  .object({
    db_user: z.string().min(1),
    public_key: PublicKeyPemSchema,
    ttl_ms: TtlMsSchema,
    /** The session that needs it: a Database Service gets certificates only for its own sessions' users. */
    sid: z.uuid().optional(),
  })
  .strict();

export const SignUserRequest = z.object({ user: NameSchema, public_key: PublicKeyPemSchema, ttl_ms: TtlMsSchema }).strict();

/** Where a user's database certificate routes (TELEPORT-FACTS.md section 6). */
export const DbRouteSchema = z
  .object({
    service_name: NameSchema,
    protocol: z.literal('postgres'),
    username: z.string().min(1).optional(),
    database: z.string().min(1).optional(),
    roles: z.array(z.string().min(1)).optional(),
  })
  .strict();

/**
 * A user's certificate for one database: the identity in the user's current certificate (which auth
 * verifies itself) plus the route, expiring with that certificate.
 */
export const SignUserDbRequest = z
  .object({
    user_cert: z
      .string()
      .startsWith('-----BEGIN CERTIFICATE-----', 'expected a PEM certificate')
      .max(64 * 1024),
    route: DbRouteSchema,
    public_key: PublicKeyPemSchema,
  })
  .strict();
export interface SignedUserCert extends SignedCert {
  expires: string;
}

/** The body of the proxy's `POST /v1/webapi/certs/db` (`tsh db login`); the caller is the user. */
export const UserDbCertRequest = z
  .object({
    service_name: NameSchema,
    username: z.string().min(1).optional(),
    database: z.string().min(1).optional(),
    roles: z.array(z.string().min(1)).optional(),
    public_key: PublicKeyPemSchema,
  })
  .strict();

export type Infer<T extends z.ZodType> = z.infer<T>;
