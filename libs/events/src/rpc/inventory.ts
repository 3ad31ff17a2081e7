import { z } from 'zod';
import { CallerCertSchema, NameSchema } from './common.js';

export const DbsUpsertRequest = z.object({ caller_cert: CallerCertSchema, resource: z.unknown(), must_not_exist: z.boolean() }).strict();
export const DbsListRequest = z.object({}).strict();
export const DbNameRequest = z.object({ name: NameSchema }).strict();
export const DbsDeleteRequest = z.object({ caller_cert: CallerCertSchema, name: NameSchema }).strict();

/** Label selectors as Teleport's `db_service.resources[].labels`: a value, or a list of them, per key. */
export const LabelSelectorSchema = z.record(z.string().max(256), z.union([z.string().max(1024), z.array(z.string().max(1024)).max(64)]));

/** A Database Service asks which `kind: db` resources its `db_service.resources` select (any of the selectors). */
export const DbsMatchingRequest = z.object({ selectors: z.array(LabelSelectorSchema).min(1).max(64) }).strict();
