import type { z } from 'zod';
import { DbResourceSchema } from '#libs/config';
import { DataPlane } from '#libs/events';

/** A Database Service's registration of one database, with the database checked as a `kind: db` resource. */
export const ServedDbSchema = DataPlane.DbServerSchema.extend({ resource: DbResourceSchema });
export type ServedDb = z.infer<typeof ServedDbSchema>;

/** What Rpc.Inventory.DbServers answers when database `name` has live registrations: its resource and who serves it. */
export function servedBy(
  registrations: ServedDb[],
  name: string,
): { resource: ServedDb['resource']; origin: 'config' | 'dynamic'; servers: Array<{ host_id: string }> } | undefined {
  const live = registrations.filter((s) => s.resource.metadata.name === name);
  if (!live.length) return undefined;
  return { resource: live[0]!.resource, origin: live[0]!.origin ?? 'config', servers: live.map((s) => ({ host_id: s.host_id })) };
}
