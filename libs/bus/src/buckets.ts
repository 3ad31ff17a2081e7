import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Buckets, DataPlane, Streams } from '#libs/events';
import { ensureStream, waitForStream } from '#libs/eventstore';

type Bucket = (typeof Buckets)[keyof typeof Buckets];

/**
 * Entries of every bucket carry their own `expires` (readers drop stale ones: NATS 2.9 tells watchers
 * nothing when an entry ages out); the bucket's max age only collects garbage.
 */
const BUCKET_MAX_AGE_MS = 60 * 60_000;

/**
 * Creates the cluster's streams and buckets if they do not exist: the auth service does it at start,
 * so that no other process needs the right to create or change them.
 */
export async function setUpBus(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const stream of [Streams.Cluster, Streams.Audit]) await ensureStream(jsm, { name: stream.name, subjects: [...stream.subjects] });
  const kvm = new Kvm(nc);
  for (const bucket of Object.values(Buckets)) await kvm.create(bucket, { history: 1, ttl: BUCKET_MAX_AGE_MS });
}

/** Opens a bucket the auth service created, waiting for it if auth is still starting. */
export async function openBucket(nc: NatsConnection, bucket: Bucket): Promise<KV> {
  await waitForStream(await jetstreamManager(nc), `KV_${bucket}`);
  return new Kvm(nc).open(bucket);
}

/**
 * A session as the broker's registry (bucket SESSIONS) holds it now, read from the bucket itself (not a
 * followed copy, which may lag behind a broker's write); undefined when absent, malformed or expired.
 */
export async function sessionEntry(sessions: KV, sid: string): Promise<DataPlane.SessionEntry | undefined> {
  const stored = await sessions.get(sid);
  if (!stored || stored.operation !== 'PUT') return undefined;
  let json: unknown;
  try {
    json = stored.json();
  } catch {
    return undefined;
  }
  const parsed = DataPlane.SessionEntrySchema.safeParse(json);
  return parsed.success && parsed.data.expires > new Date().toISOString() ? parsed.data : undefined;
}
