import { z } from 'zod';
import { ActorSchema, NameSchema } from './common.js';

export const DbsUpsertRequest = z.object({ actor: ActorSchema, resource: z.unknown(), must_not_exist: z.boolean() }).strict();
export const DbsListRequest = z.object({}).strict();
export const DbNameRequest = z.object({ name: NameSchema }).strict();
export const DbsDeleteRequest = z.object({ actor: ActorSchema, name: NameSchema }).strict();
