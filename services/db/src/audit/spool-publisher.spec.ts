import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { AuditSpool } from './audit-spool.js';
import { SpoolPublisher } from './spool-publisher.js';

// The publisher's rules against a scripted connection: the integration tests (tests/audit/spool-faults,
// tests/data-plane/audit*) run it against a real nats-server.
function fakeNats() {
  const published: Array<{ subject: string; uid: string; reply: string }> = [];
  let deliver: (err: null, msg: Msg) => void = () => undefined;
  const nc = {
    subscribe: (_subject: string, opts: { callback: (err: null, msg: Msg) => void }) => {
      deliver = opts.callback;
      return { unsubscribe: () => undefined };
    },
    publish: (subject: string, _body: Uint8Array, opts: { reply: string; headers: MsgHdrs }) =>
      published.push({ subject, uid: opts.headers.get('Nats-Msg-Id'), reply: opts.reply }),
    status: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => undefined) }) }),
  } as unknown as NatsConnection;
  const reply = (i: number, body: string, headers?: Partial<MsgHdrs>) =>
    deliver(null, { subject: published[i]!.reply, data: Buffer.from(body), string: () => body, headers } as unknown as Msg);
  return { nc, published, ack: (i: number) => reply(i, `{"stream":"AUDIT","seq":${i + 1}}`), reply };
}

let dir: string;
let spool: AuditSpool;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spool-publisher-'));
  spool = AuditSpool.open({ dir, maxBytes: 1024 * 1024, checkpointIntervalMs: 1 });
});
afterEach(async () => {
  await spool.close();
  rmSync(dir, { recursive: true, force: true });
});

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
function append(from: number, to: number): void {
  for (let i = from; i < to; i++) spool.stage(`audit.s.db.session.query`, `uid-${i}`, `{"ei":${i}}`);
  spool.commit();
}

describe('SpoolPublisher', () => {
  it('publishes in order without waiting, and moves the checkpoint over acknowledged events without a gap', async () => {
    const { nc, published, ack } = fakeNats();
    const publisher = new SpoolPublisher(nc, spool, { retryMs: 10 });
    publisher.start();
    append(0, 5);
    await tick();
    expect(published.map((p) => p.uid)).toEqual(['uid-0', 'uid-1', 'uid-2', 'uid-3', 'uid-4']);
    expect(published[0]!.subject).toBe('audit.s.db.session.query');
    ack(1);
    expect(spool.acknowledged).toBe(0);
    ack(0);
    const afterTwo = spool.acknowledged;
    expect(afterTwo).toBeGreaterThan(0);
    ack(2);
    ack(3);
    ack(4);
    expect(spool.acknowledged).toBe(spool.end);
    expect(publisher.pending()).toBe(0);
    await publisher.close(100);
  });

  it('sends everything unacknowledged again after an error, with the same message ids', async () => {
    const { nc, published, ack, reply } = fakeNats();
    const publisher = new SpoolPublisher(nc, spool, { retryMs: 10 });
    publisher.start();
    append(0, 4);
    await tick();
    ack(0);
    reply(1, '{"error":{"code":503,"description":"stream is offline"}}');
    // Acknowledgements of the abandoned round count no more.
    ack(2);
    await tick(50);
    expect(published.map((p) => p.uid)).toEqual(['uid-0', 'uid-1', 'uid-2', 'uid-3', 'uid-1', 'uid-2', 'uid-3']);
    for (let i = 4; i < 7; i++) ack(i);
    expect(spool.acknowledged).toBe(spool.end);
    await publisher.close(100);
  });

  it('publishes what sessions commit within lingerMs together, at once when lingerBytes wait', async () => {
    const { nc, published, ack } = fakeNats();
    const publisher = new SpoolPublisher(nc, spool, { lingerMs: 60, lingerBytes: 4096 });
    publisher.start();
    append(0, 1);
    await tick(10);
    append(1, 3);
    await tick(10);
    expect(published).toHaveLength(0);
    await tick(80);
    expect(published.map((p) => p.uid)).toEqual(['uid-0', 'uid-1', 'uid-2']);
    // An acknowledgement with room left in the window sends nothing that is still lingering.
    append(3, 4);
    ack(0);
    await tick(10);
    expect(published).toHaveLength(3);
    // Past lingerBytes nothing waits.
    append(4, 200);
    await tick(10);
    expect(published).toHaveLength(200);
    for (let i = 1; i < 200; i++) ack(i);
    expect(spool.acknowledged).toBe(spool.end);
    await publisher.close(100);
  });

  it('treats a reply without responders as a failure to store', async () => {
    const { nc, published, reply } = fakeNats();
    const publisher = new SpoolPublisher(nc, spool, { retryMs: 10 });
    publisher.start();
    append(0, 1);
    await tick();
    reply(0, '', { hasError: true, code: 503, description: 'No Responders' });
    await tick(50);
    expect(published.map((p) => p.uid)).toEqual(['uid-0', 'uid-0']);
    expect(spool.acknowledged).toBe(0);
    await publisher.close(10);
  });
});
