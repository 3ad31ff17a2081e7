import { z } from 'zod';
import { BadParameterError } from '#libs/common';
import { formatZodError } from './zod-error.js';

/** Database names: lower case letters, digits and dashes, as DNS labels. */
export const DbNameSchema = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be lower case letters, digits and dashes, starting and ending with a letter or digit',
  );
export const DbUriSchema = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):\d{1,5}$/, 'must be host:port');
export const DbProtocolSchema = z.literal('postgres', { message: 'only protocol "postgres" is supported' });
export const AdminUserSchema = z.object({ name: z.string().min(1), default_database: z.string().optional() }).strict();
export const AwsSchema = z
  .object({ region: z.string().optional(), assume_role_arn: z.string().optional(), external_id: z.string().optional() })
  .strict();
const TLS_MODES = ['verify-full', 'verify-ca', 'insecure'] as const;
export const TlsModeSchema = z.enum(TLS_MODES);

/** A database resource, `kind: db, version: v3`, as `tctl create` takes it (TELEPORT-FACTS.md section 7). */
export const DbResourceSchema = z
  .object({
    kind: z.literal('db'),
    version: z.literal('v3', { message: 'unsupported version: db resources are version v3' }),
    metadata: z
      .object({
        name: DbNameSchema,
        description: z.string().optional(),
        labels: z.record(z.string(), z.string()).optional(),
      })
      .strict(),
    spec: z
      .object({
        protocol: DbProtocolSchema,
        uri: DbUriSchema,
        tls: z
          .object({
            mode: TlsModeSchema.optional(),
            server_name: z.string().optional(),
            ca_cert: z.string().optional(),
            trust_system_cert_pool: z.boolean().optional(),
          })
          .strict()
          .optional(),
        admin_user: AdminUserSchema.optional(),
        aws: AwsSchema.optional(),
      })
      .strict(),
  })
  .strict();

export type DbResource = z.infer<typeof DbResourceSchema>;

export function parseDbResource(input: unknown): DbResource {
  const result = DbResourceSchema.safeParse(input);
  if (!result.success) throw new BadParameterError(`invalid db resource: ${formatZodError(result.error)}`);
  return result.data;
}
