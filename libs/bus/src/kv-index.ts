import type { Bucket, KV } from '@nats-io/kv';
import { Logger } from '@nestjs/common';
import type { z } from 'zod';
import { StreamFollower } from '#libs/eventstore';

/**
 * A bucket's entries followed into memory, each validated: a malformed entry (not JSON, or not the
 * schema) is logged and left out, never stops the watch. Entries that carry an `expires` and are past
 * it are skipped on read (NATS 2.9 tells watchers nothing when an entry ages out). It follows the
 * bucket's stream with a StreamFollower rather than `kv.watch()`, whose watcher notices the loss of the
 * NATS node holding its consumer only after a minute and more: long enough for every registration
 * with a 30 s lifetime to look expired.
 */
export class KvIndex<T extends { expires?: string }> {
  private readonly entries = new Map<string, T>();
  private stopWatch: () => void = () => {};

  private constructor(private readonly name: string) {}

  /** Follows `kv`; resolves once the entries present now are loaded. `onChange` is told of each change after that. */
  static async follow<T extends { expires?: string }>(
    kv: KV,
    schema: z.ZodType<T>,
    name: string,
    onChange?: () => void,
  ): Promise<KvIndex<T>> {
    const index = new KvIndex<T>(name);
    const logger = new Logger('bus');
    let loaded!: () => void;
    let isLoaded = false;
    const initial = new Promise<void>((resolve) => (loaded = resolve));
    // A KV handle is a Bucket: its stream, subjects and how a message reads as an entry.
    const bucket = kv as Bucket;
    const follower = await StreamFollower.start(bucket.js, {
      stream: bucket.stream,
      filter: bucket.fullKeyName('>'),
      lastPerSubject: true,
      onMessage: (m) => {
        const entry = bucket.jmToWatchEntry(m, isLoaded);
        if (entry.operation === 'PUT') {
          const parsed = parse(entry.string(), schema);
          if (parsed.ok) index.entries.set(entry.key, parsed.value);
          else {
            index.entries.delete(entry.key);
            logger.warn(`skipped ${entry.bucket} entry ${entry.key} (revision ${entry.revision}): ${parsed.reason}`);
          }
        } else index.entries.delete(entry.key);
        if (m.info.pending === 0) loaded();
        if (isLoaded) onChange?.();
      },
    });
    index.stopWatch = () => follower.stop();
    // An empty bucket delivers nothing: do not wait for a first entry.
    if ((await kv.status()).values === 0) loaded();
    await initial;
    isLoaded = true;
    return index;
  }

  stop(): void {
    this.stopWatch();
  }

  get(key: string, now = new Date().toISOString()): T | undefined {
    const value = this.entries.get(key);
    return value && !(value.expires && value.expires <= now) ? value : undefined;
  }

  /** Every entry not yet expired. */
  values(now = new Date().toISOString()): T[] {
    return [...this.entries.values()].filter((v) => !(v.expires && v.expires <= now));
  }

  toString(): string {
    return this.name;
  }
}

function parse<T>(text: string, schema: z.ZodType<T>): { ok: true; value: T } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const result = schema.safeParse(json);
  return result.success ? { ok: true, value: result.data } : { ok: false, reason: result.error.issues[0]?.message ?? 'invalid' };
}
