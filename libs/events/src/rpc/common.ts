import { z } from 'zod';

export const TraitsSchema = z.record(z.string(), z.array(z.string()));
export const NameSchema = z.string().min(1).max(256);
export const PublicKeyPemSchema = z.string().startsWith('-----BEGIN PUBLIC KEY-----', 'expected a PEM public key (SPKI)');
export const TtlMsSchema = z.number().int().positive();

/** Who asks: recorded as `created_by` and as the audit event's `user`. */
export const ActorSchema = z.string().min(1);

/** CA certificates by CA type, PEM. */
export const CaCertsSchema = z.record(z.string(), z.array(z.string()));
export type CaCerts = z.infer<typeof CaCertsSchema>;

export interface SignedCert {
  cert: string;
  cas: CaCerts;
}
