import { z } from 'zod';
import { ActorSchema, NameSchema, PublicKeyPemSchema, TraitsSchema, TtlMsSchema, type SignedCert } from './common.js';

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
    actor: ActorSchema,
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

export const RolesUpsertRequest = z.object({ role: z.unknown(), must_not_exist: z.boolean() }).strict();
export const RolesListRequest = z.object({}).strict();

/** A `kind: lock` resource, validated by the auth service; without `metadata.name` it gets a UUID. */
export const LocksUpsertRequest = z.object({ actor: ActorSchema, lock: z.unknown(), must_not_exist: z.boolean() }).strict();
export const LocksListRequest = z.object({}).strict();
export const LockNameRequest = z.object({ name: NameSchema }).strict();
export const LocksDeleteRequest = z.object({ actor: ActorSchema, name: NameSchema }).strict();

export const TokensCreateRequest = z
  .object({ roles: z.array(z.enum(['Db'])).min(1), ttl_ms: TtlMsSchema, token: z.string().min(8).optional() })
  .strict();
export const TokensListRequest = z.object({}).strict();
export const TokenRequest = z.object({ token: z.string().min(1) }).strict();
export interface TokenView {
  token: string;
  roles: string[];
  expires: string;
}

export const JoinRequest = z
  .object({
    token: z.string().min(1),
    role: z.enum(['Db']),
    host_id: NameSchema,
    public_key: PublicKeyPemSchema,
    dns_names: z.array(z.string()).default([]),
    ip_addresses: z.array(z.string()).default([]),
  })
  .strict();

export const SignHostRequest = z
  .object({
    host_id: NameSchema,
    system_role: z.enum(['Proxy', 'Db', 'Admin']),
    public_key: PublicKeyPemSchema,
    dns_names: z.array(z.string()).default([]),
    ip_addresses: z.array(z.string()).default([]),
    ttl_ms: TtlMsSchema,
  })
  .strict();

export const SignDbServerRequest = z
  .object({
    hosts: z.array(z.string().min(1)).min(1, 'at least one host is required (--host)'),
    public_key: PublicKeyPemSchema,
    ttl_ms: TtlMsSchema,
  })
  .strict();

/** A client certificate for a database user, signed by the db_client CA: what the Database Service presents to PostgreSQL. */
export const SignDbClientRequest = z.object({ db_user: z.string().min(1), public_key: PublicKeyPemSchema, ttl_ms: TtlMsSchema }).strict();

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
 * A user's certificate for one database: the identity of the user's current certificate (as the proxy
 * read it) plus the route, expiring with that certificate.
 */
export const SignUserDbRequest = z
  .object({
    user: NameSchema,
    roles: z.array(NameSchema),
    traits: TraitsSchema,
    expires: z.iso.datetime(),
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
