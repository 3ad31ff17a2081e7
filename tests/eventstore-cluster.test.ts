// A projection, a KV index and a session's live feed on a three-node NATS cluster: each follows with an
// ordered consumer, one copy on one node. When that node, or the node the projection is connected to, is
// killed, `sync()` must still return once the cluster has a new leader, the index see new values and the
// feed go on, rather than wait for good (or a minute and more) for a consumer that is gone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { KvIndex } from '#libs/bus';
import { AuditEvent, Streams } from '#libs/events';
import { EventStore, type Projection } from '#libs/eventstore';
import { liveSession } from '#services/proxy';
import { freePort, startNats, type NatsServer } from '#libs/testing';

const STREAM = { name: 'FAILOVER', subjects: ['fo.>'] };
/** A leader election takes up to ~10 s; the projection's own silence limit is 3 s. */
const SYNC_WITHIN_MS = 20_000;

let dir: string;
let nodes: NatsServer[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dbaccess-eventstore-cluster-'));
  const routePorts = [await freePort(), await freePort(), await freePort()];
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  nodes = await Promise.all(
    routePorts.map((port, i) => {
      const storeDir = join(dir, `store-${i}`);
      const file = join(dir, `node-${i}.conf`);
      writeFileSync(
        file,
        `server_name: n${i}\njetstream { store_dir: "${storeDir}" }\n` +
          `cluster { name: fo, listen: "127.0.0.1:${port}", routes: [${routes}] }\n`,
      );
      return startNats({ config: { file, storeDir } });
    }),
  );
}, 60_000);

afterAll(async () => {
  for (const node of nodes) await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

const urls = (): string[] => nodes.map((n) => n.url);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `fn` again every `pauseMs` until it succeeds, for `ms` at most: through whatever failover is under way. */
async function retrying<T>(fn: () => Promise<T>, ms = SYNC_WITHIN_MS, pauseMs = 250): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(pauseMs);
    }
  }
}

/** Appends to `subject` through whatever failover is under way. */
function appendThrough(store: EventStore, subject: string, n: number): Promise<void> {
  return retrying(async () => void (await store.append(subject, [{ type: 'n', data: { n } }], await store.version(subject))));
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The node that holds the consumer of `stream` with `filter` (the only one). */
async function consumerNode(jsm: JetStreamManager, filter: string, stream = STREAM.name): Promise<number> {
  for (;;) {
    for await (const c of jsm.consumers.list(stream)) {
      const leader = c.cluster?.leader;
      if (c.config.filter_subject === filter && leader) return Number(leader.slice(1));
    }
    await sleep(100);
  }
}

describe.each([
  ['the node holding its consumer', 'consumer'],
  ['the node it is connected to', 'connection'],
] as const)('a projection, when %s is killed,', (_what, victim) => {
  let writerNc: NatsConnection;
  let followerNc: NatsConnection;
  let projection: Projection | undefined;

  afterEach(async () => {
    projection?.stop();
    await followerNc?.close();
    await writerNc?.close();
  });

  it('syncs again once the cluster has a new leader, having missed no commit', async () => {
    writerNc = await connect({ servers: urls(), name: 'writer' });
    // Retried while the cluster is still electing its first leaders.
    const writer = await retrying(() => EventStore.open(writerNc, STREAM, { create: true, config: { num_replicas: 3 } }), 30_000, 500);
    const filter = `fo.${victim}.>`;
    followerNc = await connect({ servers: urls(), name: 'follower', reconnectTimeWait: 250 });
    const seen: number[] = [];
    const follower = await EventStore.open(followerNc, STREAM);
    projection = await follower.follow(filter, (_subject, commit) => seen.push(...commit.map((e) => (e.data as { n: number }).n)));
    await appendThrough(writer, `fo.${victim}.a`, 1);
    await projection.sync();

    const index =
      victim === 'consumer' ? await consumerNode(await jetstreamManager(writerNc), filter) : Number(followerNc.info!.server_name.slice(1));
    const node = nodes[index]!;
    await node.down('SIGKILL');
    try {
      await appendThrough(writer, `fo.${victim}.a`, 2);
      await within(projection.sync(), SYNC_WITHIN_MS, 'sync() after the node was killed');
      await appendThrough(writer, `fo.${victim}.b`, 3);
      await within(projection.sync(), 5_000, 'the next sync()');
      expect(seen).toEqual([1, 2, 3]);
    } finally {
      await node.up();
    }
  }, 90_000);
});

it('a KV index sees new values again soon after the node holding its consumer is killed', async () => {
  const nc = await connect({ servers: urls(), name: 'kv' });
  let index: KvIndex<{ n: number; expires?: string }> | undefined;
  try {
    const kv = await retrying(() => new Kvm(nc).create('FAILOVER_KV', { replicas: 3 }), 30_000, 500);
    await kv.put('a', JSON.stringify({ n: 1 }));
    index = await KvIndex.follow(kv, z.object({ n: z.number(), expires: z.string().optional() }), 'test index');
    expect(index.get('a')).toEqual({ n: 1 });
    const node = nodes[await consumerNode(await jetstreamManager(nc), '$KV.FAILOVER_KV.>', 'KV_FAILOVER_KV')]!;
    await node.down('SIGKILL');
    try {
      await retrying(() => kv.put('a', JSON.stringify({ n: 2 })));
      const seen = index;
      await within(
        (async () => {
          while (seen.get('a')?.n !== 2) await sleep(50);
        })(),
        SYNC_WITHIN_MS,
        'the index seeing the new value',
      );
    } finally {
      await node.up();
    }
  } finally {
    index?.stop();
    await nc.close();
  }
}, 90_000);

it("a session's live feed (tsh play --follow) goes on after the node holding its consumer is killed", async () => {
  const nc = await connect({ servers: urls(), name: 'live', reconnectTimeWait: 250 });
  const aborted = new AbortController();
  try {
    // Retried while the cluster is still electing its first leaders.
    const jsm = await retrying(() => jetstreamManager(nc), 30_000, 500);
    await retrying(
      () => jsm.streams.add({ name: Streams.Audit.name, subjects: [...Streams.Audit.subjects], num_replicas: 3 }),
      30_000,
      500,
    );
    const js = jsm.jetstream();
    const sid = 'c0ffee00-0000-4000-8000-000000000001';
    const publish = (ei: number, event: string) =>
      retrying(() => js.publish(`audit.${sid}.${event}`, JSON.stringify({ ei, event, sid }), { msgID: `${sid}-${ei}` }));
    await publish(0, AuditEvent.SessionStart);
    const feed = liveSession(js, sid, undefined, aborted.signal);
    const nextEvent = async () => (await within(feed.next(), SYNC_WITHIN_MS, 'the next event of the feed')).value as { ei: number };
    expect((await nextEvent()).ei).toBe(0);
    await publish(1, AuditEvent.Query);
    expect((await nextEvent()).ei).toBe(1);

    const node = nodes[await consumerNode(jsm, `audit.${sid}.>`, Streams.Audit.name)]!;
    await node.down('SIGKILL');
    try {
      await publish(2, AuditEvent.Query);
      await publish(3, AuditEvent.SessionEnd);
      expect((await nextEvent()).ei).toBe(2);
      expect((await nextEvent()).ei).toBe(3);
      expect((await feed.next()).done).toBe(true);
    } finally {
      await node.up();
    }
  } finally {
    aborted.abort();
    await nc.close();
  }
}, 90_000);

it('a load goes on when the node holding its consumer is killed mid-load', async () => {
  const nc = await connect({ servers: urls(), name: 'loader', reconnectTimeWait: 250 });
  try {
    const store = await retrying(() => EventStore.open(nc, STREAM, { create: true, config: { num_replicas: 3 } }), 30_000, 500);
    const jsm = await jetstreamManager(nc);
    const js = jsm.jetstream();
    const subject = 'fo.load.big';
    const COMMITS = 5_000;
    for (let i = 0; i < COMMITS; i += 250) {
      await Promise.all(
        Array.from({ length: 250 }, (_, j) =>
          js.publish(subject, JSON.stringify([{ type: 'n', data: { n: i + j, pad: 'x'.repeat(200) }, time: new Date().toISOString() }])),
        ),
      );
    }
    const loading = store.load<{ type: string; data: { n: number } }>(subject);
    let killed: NatsServer | undefined;
    let over = false;
    void loading.finally(() => (over = true)).catch(() => undefined);
    // The consumer's node, killed as soon as the consumer shows (a load of this size takes a while).
    const killer = (async () => {
      const node = nodes[await within(consumerNode(jsm, subject), 10_000, 'finding the consumer')]!;
      if (over) return;
      await node.down('SIGKILL');
      killed = node;
    })();
    try {
      // Its silence limit (3 s), then new consumers until the stream has a leader again (up to 20 s).
      const aggregate = await within(loading, 40_000, 'the load');
      await killer;
      expect(killed).toBeDefined(); // else the load was over before the kill: the test proved nothing
      expect(aggregate.events.map((e) => e.data.n)).toEqual(Array.from({ length: COMMITS }, (_, i) => i));
    } finally {
      await killer.catch(() => undefined);
      await killed?.up();
    }
  } finally {
    await nc.close();
  }
}, 90_000);
