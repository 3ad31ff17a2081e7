import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditStore, type StreamRecord } from './audit-store.js';

const SID = '307b49d6-56c7-4d20-8cf0-5bc5348a7101';
const OTHER = '11111111-2222-4333-8444-555555555555';
const T0 = Date.parse('2026-11-01T10:00:00.000Z');

let seq = 0;
function record(event: Record<string, unknown>): StreamRecord {
  return { seq: ++seq, data: Buffer.from(JSON.stringify(event)) };
}

function sessionEvents(sid: string, user: string, startMs: number, statements: number, end = true): StreamRecord[] {
  const meta = { sid, user, cluster_name: 'root', db_service: 'pg', db_user: user, db_name: 'postgres', db_type: 'self-hosted' };
  let ei = 0;
  const at = (ms: number) => new Date(startMs + ms).toISOString();
  const out = [record({ ...meta, ei: ei++, event: 'db.session.start', code: 'TDB00I', uid: `${sid}-s`, time: at(0), success: true })];
  for (let i = 0; i < statements; i++) {
    out.push(record({ ...meta, ei: ei++, event: 'db.session.query', uid: `${sid}-q${i}`, time: at(i + 1), db_query: `select ${i}` }));
    out.push(
      record({
        ...meta,
        ei: ei++,
        event: 'db.session.result',
        uid: `${sid}-r${i}`,
        time: at(i + 1),
        success: i !== 1,
        affected_records: 1,
      }),
    );
  }
  if (end) out.push(record({ ...meta, ei: ei++, event: 'db.session.end', uid: `${sid}-e`, time: at(statements + 1) }));
  return out;
}

function open(): AuditStore {
  return new AuditStore(join(mkdtempSync(join(tmpdir(), 'audit-store-')), 'index.sqlite'));
}

describe('AuditStore', () => {
  it('summarises a session and keeps each event once, whatever the redeliveries', () => {
    const store = open();
    const events = sessionEvents(SID, 'alice', T0, 3);
    expect(store.ingest(events.slice(0, 4))).toEqual({ inserted: 4, duplicates: 0, malformed: [] });
    // A crash between commit and acknowledgement: the same messages again, then the rest.
    expect(store.ingest(events)).toEqual({ inserted: events.length - 4, duplicates: 4, malformed: [] });
    expect(store.counts()).toEqual({ events: events.length, sessions: 1 });
    expect(store.lastSequence()).toBe(events.at(-1)!.seq);
    expect(store.getSession(SID)).toEqual({
      sid: SID,
      cluster_name: 'root',
      user: 'alice',
      db_service: 'pg',
      db_user: 'alice',
      db_name: 'postgres',
      db_type: 'self-hosted',
      start: new Date(T0).toISOString(),
      end: new Date(T0 + 4).toISOString(),
      duration_ms: 4,
      statements: 3,
      errors: 1,
      outcome: 'ok',
    });
  });

  it('survives reopening: the checkpoint and the events are on disk', () => {
    const store = open();
    store.ingest(sessionEvents(SID, 'alice', T0, 2, false));
    store.close();
    const again = new AuditStore(store.path);
    expect(again.getSession(SID)).toMatchObject({ outcome: 'active', statements: 2 });
    expect(again.lastSequence()).toBe(seq);
  });

  it('records why a session was refused', () => {
    const store = open();
    const message = 'access to db denied. User does not have permissions. Confirm database user and name.';
    store.ingest([
      record({
        sid: OTHER,
        ei: 0,
        event: 'db.session.start',
        uid: 'denied',
        time: new Date(T0).toISOString(),
        user: 'bob',
        success: false,
        message,
      }),
    ]);
    expect(store.getSession(OTHER)).toMatchObject({ outcome: 'denied', message, user: 'bob' });
  });

  it('skips what is not an audit event without stopping', () => {
    const store = open();
    const first = seq + 1;
    const junk = ['not json', 'null', '42', '[{"uid":"u","event":"db.session.query"}]'].map((text) => ({
      seq: ++seq,
      data: Buffer.from(text),
    }));
    expect(store.ingest([...junk, record({ hello: 'world' })])).toEqual({
      inserted: 0,
      duplicates: 0,
      malformed: [first, first + 1, first + 2, first + 3, first + 4],
    });
    expect(store.lastSequence()).toBe(seq);
  });

  it('lists sessions newest first, filtered and paged', () => {
    const store = open();
    const sids = Array.from({ length: 5 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`);
    sids.forEach((sid, i) => store.ingest(sessionEvents(sid, i % 2 ? 'bob' : 'alice', T0 + i * 60_000, 1)));
    const first = store.listSessions({ limit: 2 });
    expect(first.sessions.map((s) => s.sid)).toEqual([sids[4], sids[3]]);
    const second = store.listSessions({ limit: 2, cursor: first.next_cursor! });
    expect(second.sessions.map((s) => s.sid)).toEqual([sids[2], sids[1]]);
    const third = store.listSessions({ limit: 2, cursor: second.next_cursor! });
    expect(third.sessions.map((s) => s.sid)).toEqual([sids[0]]);
    expect(third.next_cursor).toBeUndefined();
    expect(store.listSessions({ limit: 10, user: 'bob' }).sessions.map((s) => s.sid)).toEqual([sids[3], sids[1]]);
    const window = { from: new Date(T0 + 60_000).toISOString(), to: new Date(T0 + 180_000).toISOString() };
    expect(store.listSessions({ limit: 10, ...window }).sessions.map((s) => s.sid)).toEqual([sids[2], sids[1]]);
  });

  it('pages a session in ei order, cut by size but never empty', () => {
    const store = open();
    // Stored out of order, as concurrent publishes may arrive.
    store.ingest(sessionEvents(SID, 'alice', T0, 20).reverse());
    const all = store.sessionEvents(SID, -1, 1000);
    expect(all.more).toBe(false);
    expect(all.events.map((e) => e.ei)).toEqual(Array.from({ length: 42 }, (_, i) => i));
    const page = store.sessionEvents(SID, 9, 5);
    expect(page).toMatchObject({ more: true });
    expect(page.events.map((e) => e.ei)).toEqual([10, 11, 12, 13, 14]);
    const tiny = store.sessionEvents(SID, -1, 1000, 1);
    expect(tiny.events).toHaveLength(1);
    expect(tiny.more).toBe(true);
  });

  it('searches events by type, user and time', () => {
    const store = open();
    store.ingest(sessionEvents(SID, 'alice', T0, 3));
    store.ingest(sessionEvents(OTHER, 'bob', T0 + 10_000, 2));
    const queries = store.searchEvents({ limit: 100, event_types: ['db.session.query'] });
    expect(queries.events.map((e) => e.db_query)).toEqual(['select 1', 'select 0', 'select 2', 'select 1', 'select 0']);
    expect(store.searchEvents({ limit: 100, user: 'bob', event_types: ['db.session.end'] }).events).toHaveLength(1);
    const paged = store.searchEvents({ limit: 4, sid: SID });
    const rest = store.searchEvents({ limit: 100, sid: SID, cursor: paged.next_cursor! });
    expect(paged.events.length + rest.events.length).toBe(8);
    expect(rest.next_cursor).toBeUndefined();
  });

  it('deletes events past the retention period, and the oldest when over the size limit', () => {
    const store = open();
    store.ingest(sessionEvents(OTHER, 'bob', T0 - 100 * 86_400_000, 5));
    store.ingest(sessionEvents(SID, 'alice', T0, 2_000));
    expect(store.applyRetention(T0, 90 * 86_400_000, 1e12)).toBe(12);
    expect(store.getSession(OTHER)).toBeUndefined();
    expect(store.getSession(SID)).toBeDefined();
    const before = store.sizeBytes();
    store.applyRetention(T0, 90 * 86_400_000, before / 2);
    expect(store.sizeBytes()).toBeLessThanOrEqual(before / 2);
    // The newest events stay.
    expect(store.sessionEvents(SID, 3_990, 100).events.at(-1)).toMatchObject({ event: 'db.session.end' });
  });
});
