import { z } from 'zod';

export const TraitsSchema = z.record(z.string(), z.array(z.string()));
export const NameSchema = z.string().min(1).max(256);
export const PublicKeyPemSchema = z.string().startsWith('-----BEGIN PUBLIC KEY-----', 'expected a PEM public key (SPKI)');
export const TtlMsSchema = z.number().int().positive();

/**
 * Who asks, as a certificate: the one the user (or the local admin) presented to the proxy, which
 * forwards it. The receiving service verifies it and records its name as `created_by` and as the
 * audit event's `user`; no name is taken from the request.
 */
export const CallerCertSchema = z
  .string()
  .startsWith('-----BEGIN CERTIFICATE-----', 'expected a PEM certificate')
  .max(64 * 1024);

/** CA certificates by CA type, PEM. */
export const CaCertsSchema = z.record(z.string(), z.array(z.string()));
export type CaCerts = z.infer<typeof CaCertsSchema>;

export interface SignedCert {
  cert: string;
  cas: CaCerts;
}
