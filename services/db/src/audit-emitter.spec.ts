import type { JetStreamClient } from '@nats-io/jetstream';
import { AuditEmitter, type AuditRecord } from './audit-emitter.js';

// The queue's rules, with a scripted publisher in place of JetStream (the integration tests
// in tests/data-plane/audit.test.ts run the same emitter against a real nats-server).
function publisher(outcomes: Array<'ok' | 'fail' | 'hang'>) {
  const stored: string[] = [];
  let call = 0;
  const js = {
    publish: (_subject: string, body: string) => {
      const outcome = outcomes[Math.min(call++, outcomes.length - 1)];
      if (outcome === 'hang') return new Promise(() => {});
      if (outcome === 'fail') return Promise.reject(new Error('no responders'));
      stored.push((JSON.parse(body) as AuditRecord).uid);
      return Promise.resolve({ seq: stored.length });
    },
  } as unknown as JetStreamClient;
  return { js, stored };
}

const record = (i: number): AuditRecord => ({ sid: 's', event: 'db.session.query', uid: `u${i}`, ei: i });

describe('AuditEmitter', () => {
  it('refuses new sessions near capacity and reports a full queue', () => {
    const { js } = publisher(['hang']);
    const emitter = new AuditEmitter(js, 100);
    // 64 publishes are in flight; the rest wait in the queue.
    for (let i = 0; i < 64 + 79; i++) expect(emitter.emit(record(i))).toBe(true);
    expect(emitter.acceptingSessions()).toBe(true);
    expect(emitter.emit(record(200))).toBe(true);
    expect(emitter.acceptingSessions()).toBe(false);
    for (let i = 0; i < 20; i++) emitter.emit(record(300 + i));
    expect(emitter.emit(record(400))).toBe(false);
  });

  it('retries until the stream acknowledges, losing nothing', async () => {
    const { js, stored } = publisher(['fail', 'fail', 'ok']);
    const emitter = new AuditEmitter(js, 100);
    for (let i = 0; i < 5; i++) emitter.emit(record(i));
    await emitter.drain(5_000);
    expect(emitter.pending()).toBe(0);
    expect([...stored].sort()).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
  });
});
