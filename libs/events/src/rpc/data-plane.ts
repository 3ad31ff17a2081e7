import { z } from 'zod';
import { NameSchema, TraitsSchema } from './common.js';

/** Database Services and proxies renew their registrations this often. */
export const HEARTBEAT_MS = 10_000;
/** A registration not renewed for this long is gone: a stopped service's databases leave `tsh db ls`. */
export const REGISTRATION_TTL_MS = 3 * HEARTBEAT_MS;

/**
 * A live proxy (bucket PROXIES): Database Services keep tunnels to each, at `addr` when it has one,
 * and at least `workers` tunnels to every proxy address, one for each of its processes.
 */
export const ProxyServerSchema = z.object({
  host_id: z.string(),
  addr: z.string().optional(),
  workers: z.number().int().positive().optional(),
  expires: z.string(),
});
export type ProxyServer = z.infer<typeof ProxyServerSchema>;

/** A Database Service's registration of one database, renewed every heartbeat. */
export const DbServerSchema = z.object({
  host_id: z.string(),
  /** The database as configured, in `kind: db` resource form, labels including dynamic ones. */
  resource: z.unknown(),
  /** Where the Database Service has it from: its own config or flags, or a `kind: db` resource its selectors match. */
  origin: z.enum(['config', 'dynamic']).optional(),
  expires: z.string(),
});
export type DbServer = z.infer<typeof DbServerSchema>;

export const DbServersRequest = z.object({ name: NameSchema }).strict();

/** A user certificate, PEM: who the user is travels as the certificate the user presented, never as fields. */
export const UserCertSchema = z
  .string()
  .startsWith('-----BEGIN CERTIFICATE-----', 'expected a PEM certificate')
  .max(64 * 1024);

/**
 * What the proxy asks the broker before a session starts: the client's certificate (its route names
 * the database) and what its StartupMessage asked for.
 */
export const AuthorizeRequest = z
  .object({
    user_cert: UserCertSchema,
    db_user: z.string().min(1),
    db_name: z.string().min(1),
    client_addr: z.string(),
  })
  .strict();

export interface AuthorizeReply {
  sid: string;
  /** Host ids of the Database Services that may serve the session, in the order to try them. */
  servers: string[];
}

/** Beyond Teleport: how much of each result the session's roles ask to record (off when absent). */
export const ResultRecordingSchema = z
  .object({ max_rows: z.number().int().positive(), max_value_length: z.number().int().positive() })
  .strict();

/** Table permissions of `db_permissions`: objects whose labels (object_kind, schema, name, ...) match get `permissions`. */
export const DbPermissionRuleSchema = z
  .object({ match: z.record(z.string(), z.union([z.string(), z.array(z.string())])), permissions: z.array(z.string()) })
  .strict();
export type DbPermissionRule = z.infer<typeof DbPermissionRuleSchema>;

/**
 * How the session's database user is provisioned (create_db_user_mode keep or best_effort_drop): the
 * database roles to grant, or the object permissions (allow less deny) to grant for the session.
 */
export const AutoUserSchema = z
  .object({
    mode: z.enum(['keep', 'best_effort_drop']),
    db_roles: z.array(z.string()),
    db_permissions: z.object({ allow: z.array(DbPermissionRuleSchema), deny: z.array(DbPermissionRuleSchema) }).strict(),
  })
  .strict();
export type AutoUser = z.infer<typeof AutoUserSchema>;

/**
 * The first frame of a session stream from the proxy to a Database Service (int32 length, then this
 * JSON): which session, the client's certificate and StartupMessage. The Database Service trusts none
 * of it before the broker confirms it (`broker.sessions.start`).
 */
export const SessionHeaderSchema = z
  .object({
    sid: z.uuid(),
    user_cert: UserCertSchema,
    db_user: z.string().min(1),
    db_name: z.string().min(1),
    /** StartupMessage parameters other than user and database (application_name, options, ...). */
    parameters: z.record(z.string(), z.string()),
    client_addr: z.string(),
    /** The W3C trace context of the session's setup at the proxy, which the Database Service continues. */
    trace: z
      .object({ traceparent: z.string().max(64), tracestate: z.string().max(512) })
      .partial()
      .strict()
      .optional(),
  })
  .strict();
export type SessionHeader = z.infer<typeof SessionHeaderSchema>;

/** The Database Service asks the broker to confirm a session it was handed, and registers it as live. */
export const SessionsStartRequest = z
  .object({
    sid: z.uuid(),
    user_cert: UserCertSchema,
    db_service: NameSchema,
    db_user: z.string().min(1),
    db_name: z.string().min(1),
    /** The BackendKeyData secret the client gets (ours, not the database's): cancel requests are routed by it. */
    cancel_secret: z.number().int(),
  })
  .strict();

/** What the session may do, decided by the broker on the current roles: the Database Service serves exactly this. */
export interface SessionGrant {
  cluster_name: string;
  user: string;
  /** The Teleport roles that granted access. */
  matched_roles: string[];
  /** The user's certificate expires then: the session ends, and the database certificate lives no longer. */
  expires: string;
  db_origin: string;
  record_results?: z.infer<typeof ResultRecordingSchema>;
  /** Present when the session provisions its database user. */
  auto_user?: AutoUser;
}

/** A session ended (`sid`), or every session of the sender (a Database Service that restarted). */
export const SessionsEndRequest = z.union([z.object({ sid: z.uuid() }).strict(), z.object({ all: z.literal(true) }).strict()]);

export const SessionsGetRequest = z.object({ sid: z.uuid() }).strict();

/** A CancelRequest as the client sent it: routed by the broker to the Database Service with that key. */
export const CancelRequest = z.object({ process_id: z.number().int(), secret_key: z.number().int() }).strict();

/** The broker tells a Database Service to end one of its sessions now, and why. */
export const TerminateMessageSchema = z.object({ sid: z.uuid(), message: z.string() }).strict();

/** The header is small; a longer one is not a proxy speaking. */
export const MAX_SESSION_HEADER = 64 * 1024;

/** The first frame of a session stream: int32 length, then the header's JSON. */
export function encodeSessionHeader(header: SessionHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json]);
}

/**
 * One session in the broker's registry (bucket SESSIONS, key = session id): assigned when the proxy is
 * told where to send it, live once the Database Service confirmed it, removed when it ends. Written by
 * the broker only.
 */
export const SessionEntrySchema = z.object({
  sid: z.string(),
  state: z.enum(['assigned', 'live']),
  /** Assigned: the Database Services that may take it; live: the one serving it. */
  hosts: z.array(z.string()),
  /** SHA-256 of the user certificate the session was authorized for. */
  cert: z.string(),
  user: z.string(),
  roles: z.array(z.string()),
  traits: TraitsSchema,
  db_service: z.string(),
  db_user: z.string(),
  db_name: z.string(),
  db_roles: z.array(z.string()).optional(),
  /** The database's labels when the session started: role changes are checked against them. */
  db_labels: z.record(z.string(), z.string()).optional(),
  /** Live sessions that provision their user: what was granted, and the database's admin user. */
  auto_user: AutoUserSchema.optional(),
  admin_user: z.string().optional(),
  client_addr: z.string(),
  cancel_secret: z.number().optional(),
  /** Assigned entries expire if no Database Service confirms them; live ones when the certificate does. */
  expires: z.string(),
});
export type SessionEntry = z.infer<typeof SessionEntrySchema>;
