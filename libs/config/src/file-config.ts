import { z } from 'zod';
import { AdminUserSchema, AwsSchema, DbNameSchema, DbProtocolSchema, DbUriSchema, TlsModeSchema } from './db-resource.js';

/** db_service.workers and proxy_service.workers at most. */
export const MAX_WORKERS = 64;

const YesNo = z
  .union([z.boolean(), z.enum(['yes', 'no', 'true', 'false', 'on', 'off'])])
  .transform((v) => v === true || v === 'yes' || v === 'true' || v === 'on');

/** One entry of `db_service.databases` (TELEPORT-FACTS.md section 7). */
export const DatabaseSchema = z
  .object({
    name: DbNameSchema,
    description: z.string().optional(),
    protocol: DbProtocolSchema,
    uri: DbUriSchema,
    tls: z
      .object({
        mode: TlsModeSchema.optional(),
        server_name: z.string().optional(),
        ca_cert_file: z.string().optional(),
        trust_system_cert_pool: z.boolean().optional(),
      })
      .strict()
      .optional(),
    admin_user: AdminUserSchema.optional(),
    aws: AwsSchema.optional(),
    static_labels: z.record(z.string(), z.string()).optional(),
    /** The older spelling of static_labels, as in early guides. */
    labels: z.record(z.string(), z.string()).optional(),
    dynamic_labels: z
      .array(
        z
          .object({
            name: z.string().min(1),
            command: z.array(z.string()).min(1),
            period: z.string().optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

export type DatabaseConfig = z.infer<typeof DatabaseSchema>;

/** `teleport.yaml`, the keys of the guides plus `teleport.nats`. Unknown keys are errors, not silently ignored. */
export const FileConfigSchema = z
  .object({
    version: z.enum(['v1', 'v2', 'v3']).optional(),
    teleport: z
      .object({
        /** Accepted as Teleport writes it; processes are identified by the host_uuid in data_dir. */
        nodename: z.string().optional(),
        data_dir: z.string().optional(),
        auth_token: z.string().optional(),
        /** Where /healthz and /readyz are served (HTTP), like --diag-addr. */
        diag_addr: z.string().optional(),
        auth_servers: z.array(z.string()).optional(),
        auth_server: z.string().optional(),
        proxy_server: z.string().optional(),
        /** Teleport's log settings: how much (severity), where (output), in which form (format.output). */
        log: z
          .object({
            severity: z
              .string()
              .transform((v) => v.toUpperCase())
              .pipe(z.enum(['DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR'], { message: 'use DEBUG, INFO, WARN or ERROR' }))
              .optional(),
            /** stderr (default), stdout, or a file the lines are appended to. */
            output: z.string().min(1).optional(),
            format: z
              .object({ output: z.enum(['text', 'json']).optional(), extra_fields: z.array(z.string()).optional() })
              .strict()
              .optional(),
          })
          .strict()
          .optional(),
        nats: z
          .object({
            /** The cluster's NATS servers; without them `teleport start` runs its own. */
            servers: z.array(z.string()).optional(),
            /** Where the embedded NATS server listens. */
            listen_addr: z.string().optional(),
            /** The bus keys (sealed with the KEK), when not `<data_dir>/bus-keys.json`: control-plane hosts with data dirs of their own share one. */
            keys_file: z.string().optional(),
            /** Copies of every stream and bucket on a NATS cluster (3 on three nodes); 1 on one server. */
            replicas: z.number().int().min(1).max(5).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    auth_service: z
      .object({
        enabled: YesNo.optional(),
        cluster_name: z.string().optional(),
        /** Where proxies join with a token (POST /v1/webapi/host/join); the services reach auth over NATS. */
        listen_addr: z.string().optional(),
        /** Key-encryption key for CA private keys: a file, or the name of an environment variable. */
        kek_file: z.string().optional(),
        kek_env: z.string().optional(),
        /** Static join tokens, `roles:token` as Teleport writes them (`proxy,node,database:cbdeeab9-...`); they never expire. */
        tokens: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    proxy_service: z
      .object({
        enabled: YesNo.optional(),
        web_listen_addr: z.string().optional(),
        public_addr: z.union([z.string(), z.array(z.string())]).optional(),
        /** Accepted for guide compatibility; everything is served on web_listen_addr. */
        listen_addr: z.string().optional(),
        tunnel_listen_addr: z.string().optional(),
        /**
         * Where Database Services dial this proxy's tunnels, when several proxies sit behind the one
         * address they were given (`--proxy`): each proxy's own reachable host:port.
         */
        tunnel_public_addr: z.string().optional(),
        /**
         * The certificates the proxy shows browsers and tsh on web_listen_addr (e.g. from a public CA):
         * PEM files, one pair per set of names. Without them it shows its certificate from the cluster's host CA.
         */
        /** A certificate from an ACME CA (Let's Encrypt by default) for public_addr, validated on port 443 (tls-alpn-01). */
        acme: z.object({ enabled: YesNo.optional(), email: z.string().optional(), uri: z.string().url().optional() }).strict().optional(),
        https_keypairs: z.array(z.object({ key_file: z.string(), cert_file: z.string() }).strict()).optional(),
        /**
         * Processes serving web_listen_addr (each one core): 1 to 64; default half this host's cores,
         * at most 8. The first accepts every connection and hands each to one of them.
         */
        workers: z.number().int().min(1).max(MAX_WORKERS).optional(),
        /** Connections at web_listen_addr that have not yet said what they want (TLS, StartupMessage, request headers). */
        connection_limits: z
          .object({
            /** From accept to the StartupMessage or the first request's headers (a duration: 5s; a bare number is refused with a hint). */
            handshake_timeout: z.union([z.string(), z.number()]).optional(),
            /** Pending connections from one IPv4 address or IPv6 /64; more are closed at once. */
            max_pending_per_source: z.number().int().positive().optional(),
            /** Pending connections in all; more are closed at once. */
            max_pending: z.number().int().positive().optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    ssh_service: z.object({ enabled: YesNo.optional() }).strict().optional(),
    /** The audit service: its index of audit events and how long it keeps them. */
    audit: z
      .object({
        enabled: YesNo.optional(),
        /** Events older than this are deleted from the index and the AUDIT stream (a duration: 2160h). */
        retention_period: z.string().optional(),
        /** The index and the AUDIT stream each stay below this size, oldest events dropped first (512MB, 1GiB). */
        max_size: z.union([z.string(), z.number()]).optional(),
      })
      .strict()
      .optional(),
    /**
     * Automatic database users (create_db_user_mode): by default each Database Service provisions the
     * users of its databases with their admin_user; `enabled: no` leaves it to `--roles=provisioning`.
     */
    provisioning_service: z.object({ enabled: YesNo.optional() }).strict().optional(),
    db_service: z
      .object({
        enabled: YesNo.optional(),
        databases: z.array(DatabaseSchema).optional(),
        /** `kind: db` resources (tctl create) served here too: those whose labels one of these selects. */
        resources: z.array(z.object({ labels: z.record(z.string(), z.union([z.string(), z.array(z.string())])) }).strict()).optional(),
        /**
         * Processes serving the databases (each one core): 1 to 64; default half this host's cores, at
         * most 8. Each is a Database Service of its own, with its state in data_dir/workers/<n>.
         */
        workers: z.number().int().min(1).max(MAX_WORKERS).optional(),
        /** Where audit events wait, on disk in data_dir, until the AUDIT stream has them. */
        audit_spool: z
          .object({
            /** The spool stays below this (512MB, 1GiB): near it new sessions are refused, at it sessions end. */
            max_size: z.union([z.string(), z.number()]).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type FileConfig = z.infer<typeof FileConfigSchema>;
