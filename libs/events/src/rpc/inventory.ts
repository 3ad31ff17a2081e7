import { z } from 'zod';
import { CallerCertSchema, NameSchema } from './common.js';

export const DbsUpsertRequest = z.object({ caller_cert: CallerCertSchema, resource: z.unknown(), must_not_exist: z.boolean() }).strict();
export const DbsListRequest = z.object({}).strict();
export const DbNameRequest = z.object({ name: NameSchema }).strict();
export const DbsDeleteRequest = z.object({ caller_cert: CallerCertSchema, name: NameSchema }).strict();
