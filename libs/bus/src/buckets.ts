import { Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Buckets, DataPlane, Streams } from '#libs/events';
import { ensureStream, retryThroughFailover, waitForStream } from '#libs/eventstore';

type Bucket = (typeof Buckets)[keyof typeof Buckets];

/**
 * Entries of every bucket carry their own `expires` (readers drop stale ones: NATS 2.9 tells watchers
 * nothing when an entry ages out); the bucket's max age only collects garbage.
 */
const BUCKET_MAX_AGE_MS = 60 * 60_000;
/** Web sessions last up to 12 hours, as `tsh login` certificates do. */
const maxAgeOf = (bucket: Bucket) => (bucket === Buckets.WebSessions ? 12 * BUCKET_MAX_AGE_MS : BUCKET_MAX_AGE_MS);

/**
 * Creates the cluster's streams and buckets if they do not exist, with `replicas` copies each (3 on a
 * three-node NATS cluster): the auth service does it at start, so that no other process needs the right
 * to create or change them. Streams and buckets made with fewer copies (a cluster that grew from one
 * server) are scaled up; never down, which would drop copies an operator asked for elsewhere.
 */
export async function setUpBus(nc: NatsConnection, replicas = 1): Promise<void> {
  // A NATS cluster that is still forming (no JetStream leader yet) answers nothing for a while.
  await retryThroughFailover(() => createStreams(nc, replicas), SETUP_BUDGET_MS);
}

const SETUP_BUDGET_MS = 60_000;

async function createStreams(nc: NatsConnection, replicas: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const stream of [Streams.Cluster, Streams.Audit])
    await ensureStream(jsm, { name: stream.name, subjects: [...stream.subjects], num_replicas: replicas });
  const kvm = new Kvm(nc);
  for (const bucket of Object.values(Buckets)) await kvm.create(bucket, { history: 1, ttl: maxAgeOf(bucket), replicas });
  for (const name of [Streams.Cluster.name, Streams.Audit.name, ...Object.values(Buckets).map((b) => `KV_${b}`)]) {
    const { config } = await jsm.streams.info(name);
    if (config.num_replicas < replicas) {
      await jsm.streams.update(name, { ...config, num_replicas: replicas });
      new Logger('bus').log(`stream ${name}: ${config.num_replicas} → ${replicas} replicas`);
    }
  }
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
  const stored = await retryThroughFailover(() => sessions.get(sid));
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
