import type { KV } from '@nats-io/kv';
import { Logger } from '@nestjs/common';
import type { DataPlane } from '#libs/events';

/** The live registrations of Database Services, followed from the KV bucket; stale ones are skipped on read. */
export class DbServersView {
  private readonly entries = new Map<string, DataPlane.DbServer>();

  static async follow(kv: KV): Promise<DbServersView> {
    const view = new DbServersView();
    const watcher = await kv.watch();
    void (async () => {
      for await (const entry of watcher) {
        if (entry.operation === 'PUT') view.entries.set(entry.key, entry.json<DataPlane.DbServer>());
        else view.entries.delete(entry.key);
      }
    })().catch((err: Error) => new Logger('inventory').error(`watching Database Services stopped: ${err.message}`));
    view.stop = () => watcher.stop();
    return view;
  }

  stop: () => void = () => {};

  live(now = new Date()): DataPlane.DbServer[] {
    const iso = now.toISOString();
    return [...this.entries.values()].filter((s) => s.expires > iso);
  }
}
