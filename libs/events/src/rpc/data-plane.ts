import { z } from 'zod';
import { NameSchema, TraitsSchema } from './common.js';

/** A Database Service's registration of one database, renewed every heartbeat. */
export const DbServerSchema = z.object({
  host_id: z.string(),
  /** host:port where proxies open session streams (mutual TLS). */
  addr: z.string(),
  /** The database as configured, in `kind: db` resource form, labels including dynamic ones. */
  resource: z.unknown(),
  expires: z.string(),
});
export type DbServer = z.infer<typeof DbServerSchema>;

export const DbServersRequest = z.object({ name: NameSchema }).strict();

/** What the proxy asks the broker before a session starts. */
export const AuthorizeRequest = z
  .object({
    user: NameSchema,
    roles: z.array(z.string()),
    traits: TraitsSchema,
    db_service: NameSchema,
    db_user: z.string().min(1),
    db_name: z.string().min(1),
    /** Database roles asked for with `--db-roles` (in the user's database certificate). */
    db_roles: z.array(z.string()).optional(),
    client_addr: z.string(),
  })
  .strict();
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

export interface AuthorizeReply {
  sid: string;
  cluster_name: string;
  server: { host_id: string; addr: string };
  /** The Teleport roles that granted access. */
  matched_roles: string[];
  db_uri: string;
  db_type: string;
  db_origin: string;
  record_results?: z.infer<typeof ResultRecordingSchema>;
  /** Present when the session provisions its database user. */
  auto_user?: AutoUser;
}

/**
 * The first frame of a session stream from the proxy to a Database Service (int32 length, then this
 * JSON): who connects, to what, authorized by the broker. The stream then carries the client's frames.
 */
export const SessionHeaderSchema = z
  .object({
    sid: z.string(),
    cluster_name: z.string(),
    user: z.string(),
    roles: z.array(z.string()),
    matched_roles: z.array(z.string()),
    /** Expiry of the user's certificate: the session ends then, and the database certificate lives no longer. */
    expires: z.string(),
    db_service: z.string(),
    db_user: z.string(),
    db_name: z.string(),
    /** StartupMessage parameters other than user and database (application_name, options, ...). */
    parameters: z.record(z.string(), z.string()),
    client_addr: z.string(),
    record_results: ResultRecordingSchema.optional(),
    auto_user: AutoUserSchema.optional(),
  })
  .strict();
export type SessionHeader = z.infer<typeof SessionHeaderSchema>;

/** The header is small; a longer one is not a proxy speaking. */
export const MAX_SESSION_HEADER = 64 * 1024;

/** The first frame of a session stream: int32 length, then the header's JSON. */
export function encodeSessionHeader(header: SessionHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json]);
}

export const CancelMessageSchema = z.object({ process_id: z.number().int(), secret_key: z.number().int() }).strict();
