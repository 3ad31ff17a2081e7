import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { Buckets } from '#libs/events';

/**
 * The bucket of live Database Services. Entries carry their own `expires` (readers drop stale ones:
 * NATS 2.9 tells watchers nothing when an entry ages out); the bucket's max age only collects garbage.
 */
export function openDbServersBucket(nc: NatsConnection): Promise<KV> {
  return new Kvm(nc).create(Buckets.DbServers, { history: 1, ttl: 60 * 60_000 });
}
