import type { KV } from '@nats-io/kv';
import { Logger } from '@nestjs/common';
import { BadParameterError } from '#libs/common';
import { DbResourceSchema, formatZodError } from '#libs/config';
import { Buckets, DataPlane } from '#libs/events';

/** The live registrations of Database Services, followed from the KV bucket; stale ones are skipped on read. */
export class DbServersView {
  private readonly entries = new Map<string, DataPlane.DbServer>();

  static async follow(kv: KV): Promise<DbServersView> {
    const logger = new Logger('inventory');
    const view = new DbServersView();
    const watcher = await kv.watch();
    void (async () => {
      for await (const entry of watcher) {
        if (entry.operation !== 'PUT') {
          view.entries.delete(entry.key);
          continue;
        }
        try {
          view.entries.set(entry.key, parseDbServer(entry.value));
        } catch (err) {
          // The key no longer holds a registration, so it serves nothing.
          view.entries.delete(entry.key);
          logger.warn(`skipped ${Buckets.DbServers} entry ${entry.key} (revision ${entry.revision}): ${(err as Error).message}`);
        }
      }
    })().catch((err: Error) => logger.error(`watching Database Services stopped: ${err.message}`));
    view.stop = () => watcher.stop();
    return view;
  }

  stop: () => void = () => {};

  live(now = new Date()): DataPlane.DbServer[] {
    const iso = now.toISOString();
    return [...this.entries.values()].filter((s) => s.expires > iso);
  }
}

/** A registration as a Database Service writes it; anything else is refused, its content unquoted. */
export function parseDbServer(value: Uint8Array): DataPlane.DbServer {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(value).toString('utf8'));
  } catch {
    throw new BadParameterError(`${value.length} bytes that are not JSON`);
  }
  const server = DataPlane.DbServerSchema.safeParse(json);
  if (!server.success) throw new BadParameterError(`not a registration: ${formatZodError(server.error)}`);
  const resource = DbResourceSchema.safeParse(server.data.resource);
  if (!resource.success) throw new BadParameterError(`not a registration: resource.${formatZodError(resource.error)}`);
  return { ...server.data, resource: resource.data };
}
