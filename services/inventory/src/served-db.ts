import type { z } from 'zod';
import { DbResourceSchema } from '#libs/config';
import { DataPlane } from '#libs/events';

/** A Database Service's registration of one database, with the database checked as a `kind: db` resource. */
export const ServedDbSchema = DataPlane.DbServerSchema.extend({ resource: DbResourceSchema });
export type ServedDb = z.infer<typeof ServedDbSchema>;
