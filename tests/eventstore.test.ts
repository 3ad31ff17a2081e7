import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { EventEnvelope } from '#libs/events';
import { EventStore, ExpectedVersionConflictError, type Decider } from '#libs/eventstore';
import { startNats, type NatsServer } from '#libs/testing';

type CounterEvent = { type: 'added'; data: { n: number } };
type CounterCommand = { type: 'add'; n: number; max: number };
const counter: Decider<CounterCommand, number, CounterEvent> = {
  initialState: () => 0,
  evolve: (total, e) => total + e.data.n,
  decide: (c, total) => {
    if (total + c.n > c.max) throw new Error(`over ${c.max}`);
    return [{ type: 'added', data: { n: c.n } }];
  },
};

let nats: NatsServer;
let nc: NatsConnection;
let store: EventStore;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url, name: 'eventstore-test' });
  store = await EventStore.open(nc, { name: 'TEST', subjects: ['test.>'] }, { create: true });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('EventStore on JetStream', () => {
  it('appends with the expected version and refuses a stale one', async () => {
    const v1 = await store.append('test.a', [{ type: 'added', data: { n: 1 } }], 0);
    await expect(store.append('test.a', [{ type: 'added', data: { n: 2 } }], 0)).rejects.toBeInstanceOf(ExpectedVersionConflictError);
    const v2 = await store.append('test.a', [{ type: 'added', data: { n: 2 } }], v1);
    expect(v2).toBeGreaterThan(v1);
    await expect(store.load<CounterEvent>('test.a')).resolves.toEqual({
      events: [
        { type: 'added', data: { n: 1 } },
        { type: 'added', data: { n: 2 } },
      ],
      version: v2,
    });
  });

  it('loads an aggregate with no events as version 0', async () => {
    await expect(store.load('test.none')).resolves.toEqual({ events: [], version: 0 });
  });

  it('decides concurrent commands one at a time: the invariant holds under contention', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => store.handle('test.counter', counter, { type: 'add', n: 1, max: 3 })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const { events } = await store.load<CounterEvent>('test.counter');
    expect(events.reduce(counter.evolve, 0)).toBe(3);
  });

  it('replays, follows, and syncs a projection to writes of another connection', async () => {
    const seen: string[] = [];
    const projection = await store.follow('test.p.>', (subject: string, commit: EventEnvelope[]) => {
      for (const e of commit) seen.push(`${subject}:${(e.data as { n: number }).n}`);
    });
    const other = await connect({ servers: nats.url, name: 'writer' });
    const writer = await EventStore.open(other, { name: 'TEST', subjects: ['test.>'] });
    await writer.append('test.p.x', [{ type: 'added', data: { n: 7 } }], 0);
    await writer.append('test.unrelated', [{ type: 'added', data: { n: 0 } }], 0);
    await projection.sync();
    expect(seen).toEqual(['test.p.x:7']);
    projection.stop();
    await other.close();
  });

  it('passes over messages that are not commits: projections go on, and commands load around them', async () => {
    const seen: number[] = [];
    const projection = await store.follow('test.junk.>', (_subject: string, commit: EventEnvelope[]) => {
      for (const e of commit) seen.push((e.data as { n: number }).n);
    });
    const v1 = await store.append('test.junk.a', [{ type: 'added', data: { n: 1 } }], 0);
    const js = jetstream(nc);
    await js.publish('test.junk.a', 'not json!!');
    await js.publish('test.junk.a', JSON.stringify({ type: 'added', data: { n: 100 } }));
    await js.publish('test.junk.b', JSON.stringify([{ type: 'added', data: null, time: 'now' }]));
    await store.append('test.junk.b', [{ type: 'added', data: { n: 2 } }], await store.version('test.junk.b'));
    await projection.sync();
    expect(seen).toEqual([1, 2]);

    const loaded = await store.load<CounterEvent>('test.junk.a');
    expect(loaded.events).toEqual([{ type: 'added', data: { n: 1 } }]);
    expect(loaded.version).toBeGreaterThan(v1);
    const { state } = await store.handle('test.junk.a', counter, { type: 'add', n: 2, max: 10 });
    expect(state).toBe(3);
    await projection.sync();
    expect(seen).toEqual([1, 2, 2]);
    projection.stop();
  });
});
