import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AuditEvent, NO_SESSION, type AuditRpc } from '#libs/events';

/** One message of the AUDIT stream: its stream sequence and its JSON body. */
export interface StreamRecord {
  seq: number;
  data: Uint8Array;
}

export interface IngestResult {
  inserted: number;
  /** Events already in the index (a redelivery after a crash): not counted again. */
  duplicates: number;
  /** Stream sequences of messages that are not audit events (not a JSON object, or no uid or type): skipped, not retried. */
  malformed: number[];
}

type Row = Record<string, unknown>;

/** What one batch adds to a session's summary row. */
interface SessionDelta {
  sid: string;
  cluster_name: string | null;
  user: string | null;
  db_service: string | null;
  db_user: string | null;
  db_name: string | null;
  db_type: string | null;
  start_ms: number;
  last_ms: number;
  end_ms: number | null;
  statements: number;
  errors: number;
  outcome: string | null;
  message: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL,
  seq INTEGER NOT NULL,
  sid TEXT NOT NULL,
  ei INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  event TEXT NOT NULL,
  user TEXT,
  db_service TEXT,
  json TEXT NOT NULL
);
-- Playback by session, and each event once: a redelivered event has the same sid, ei and uid. Unlike
-- an index on the random uid alone, inserts stay close together, one session after the other.
CREATE UNIQUE INDEX IF NOT EXISTS events_session_uid ON events(sid, ei, uid);
DROP INDEX IF EXISTS events_uid;
DROP INDEX IF EXISTS events_session;
CREATE INDEX IF NOT EXISTS events_time ON events(time_ms);
CREATE INDEX IF NOT EXISTS events_user ON events(user, time_ms);
CREATE INDEX IF NOT EXISTS events_db ON events(db_service, time_ms);
CREATE INDEX IF NOT EXISTS events_type ON events(event, time_ms);
CREATE TABLE IF NOT EXISTS sessions (
  sid TEXT PRIMARY KEY,
  cluster_name TEXT,
  user TEXT,
  db_service TEXT,
  db_user TEXT,
  db_name TEXT,
  db_type TEXT,
  start_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  end_ms INTEGER,
  statements INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  outcome TEXT,
  message TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_start ON sessions(start_ms, sid);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user, start_ms);
CREATE INDEX IF NOT EXISTS sessions_db ON sessions(db_service, start_ms);
CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), last_seq INTEGER NOT NULL);
INSERT OR IGNORE INTO checkpoint (id, last_seq) VALUES (1, 0);
`;

/**
 * With checkpoints made elsewhere, the writer still restarts the write-ahead log past this size: under
 * steady writes a passive checkpoint never finds it wholly copied, so it would only grow, and every
 * page a search reads is looked up in it. Most of it is copied already; the writer finishes the rest.
 */
const MAX_WAL_BYTES = 64 * 1024 * 1024;

/** Replies travel as one NATS message: pages stop short of the server's 1 MiB default. */
export const PAGE_MAX_BYTES = 768 * 1024;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A WHERE clause built from optional filters, with its arguments in order. */
class Where {
  private readonly parts: string[] = [];
  readonly args: Array<string | number> = [];

  add(sql: string, ...args: Array<string | number>): void {
    this.parts.push(sql);
    this.args.push(...args);
  }

  toString(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

function encodeCursor(parts: Array<string | number>): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

function decodeCursor<T extends Array<string | number>>(cursor: string | undefined, shape: Array<'string' | 'number'>): T | undefined {
  if (!cursor) return undefined;
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts) && parts.length === shape.length && parts.every((p, i) => typeof p === shape[i])) return parts as T;
  } catch {
    // Falls through to undefined: a cursor we did not write starts from the top.
  }
  return undefined;
}

/**
 * The audit service's index: every audit event once (its uid is unique), searchable by session,
 * time, user, database and event type, and a summary row per session. The last stream sequence is
 * stored in the same transaction as the events, so a crash loses or repeats nothing.
 */
export class AuditStore {
  private readonly db: Database.Database;
  private readonly insertEvent: Database.Statement;
  private readonly upsertSession: Database.Statement;
  private readonly setCheckpoint: Database.Statement;
  private readonly ingestTransaction: (batch: StreamRecord[]) => IngestResult;
  private maxWalBytes = 0;
  private commits = 0;

  /** With `reader`, a connection for searches beside the one that writes (which created the file). */
  constructor(
    readonly path: string,
    options: { reader?: boolean } = {},
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path);
    // The indexes of a few million events stay in memory.
    this.db.pragma('cache_size = -65536');
    this.db.pragma('busy_timeout = 5000');
    if (!options.reader) {
      // Only takes effect on a new file: freed pages can then be returned to the file system.
      this.db.pragma('auto_vacuum = INCREMENTAL');
      this.db.pragma('journal_mode = WAL');
      // With WAL, NORMAL loses nothing when the process dies; only a power cut may lose the last commits.
      this.db.pragma('synchronous = NORMAL');
      // A write-ahead log emptied by a checkpoint is cut back to this size.
      this.db.pragma('journal_size_limit = 67108864');
      this.db.exec(SCHEMA);
    }
    this.insertEvent = this.db.prepare(
      'INSERT OR IGNORE INTO events (uid, seq, sid, ei, time_ms, event, user, db_service, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.upsertSession = this.db.prepare(`
      INSERT INTO sessions (sid, cluster_name, user, db_service, db_user, db_name, db_type, start_ms, last_ms, end_ms, statements, errors, outcome, message)
      VALUES (@sid, @cluster_name, @user, @db_service, @db_user, @db_name, @db_type, @start_ms, @last_ms, @end_ms, @statements, @errors, @outcome, @message)
      ON CONFLICT(sid) DO UPDATE SET
        cluster_name = coalesce(cluster_name, excluded.cluster_name),
        user = coalesce(user, excluded.user),
        db_service = coalesce(db_service, excluded.db_service),
        db_user = coalesce(db_user, excluded.db_user),
        db_name = coalesce(db_name, excluded.db_name),
        db_type = coalesce(db_type, excluded.db_type),
        start_ms = min(start_ms, excluded.start_ms),
        last_ms = max(last_ms, excluded.last_ms),
        end_ms = coalesce(excluded.end_ms, end_ms),
        statements = statements + excluded.statements,
        errors = errors + excluded.errors,
        outcome = coalesce(excluded.outcome, outcome),
        message = coalesce(excluded.message, message)`);
    this.setCheckpoint = this.db.prepare('UPDATE checkpoint SET last_seq = max(last_seq, ?) WHERE id = 1');
    this.ingestTransaction = this.db.transaction((batch: StreamRecord[]) => this.ingestBatch(batch));
  }

  /** Indexes a batch of stream messages in one transaction; those at or below the last sequence indexed are redeliveries. */
  ingest(batch: StreamRecord[]): IngestResult {
    const result = this.ingestTransaction(batch);
    if (this.maxWalBytes && ++this.commits % 16 === 0 && this.walBytes() > this.maxWalBytes) this.db.pragma('wal_checkpoint(RESTART)');
    return result;
  }

  /**
   * Leaves checkpoints to another connection (WalCheckpointer) instead of the commit that crosses
   * SQLite's threshold; past `maxWalBytes` of log (the other one falls behind) this one checkpoints.
   */
  checkpointElsewhere(maxWalBytes = MAX_WAL_BYTES): void {
    this.db.pragma('wal_autocheckpoint = 0');
    this.maxWalBytes = maxWalBytes;
  }

  private walBytes(): number {
    try {
      return statSync(`${this.path}-wal`).size;
    } catch {
      return 0;
    }
  }

  /** The stream sequence of the last message indexed. */
  lastSequence(): number {
    return (this.db.prepare('SELECT last_seq FROM checkpoint WHERE id = 1').get() as { last_seq: number }).last_seq;
  }

  private ingestBatch(batch: StreamRecord[]): IngestResult {
    const result: IngestResult = { inserted: 0, duplicates: 0, malformed: [] };
    const deltas = new Map<string, SessionDelta>();
    const indexed = this.lastSequence();
    let lastSeq = 0;
    for (const record of batch) {
      if (record.seq <= indexed) {
        result.duplicates++;
        continue;
      }
      lastSeq = Math.max(lastSeq, record.seq);
      const json = Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(json);
      } catch {
        result.malformed.push(record.seq);
        continue;
      }
      const event = (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : {}) as Row;
      const uid = str(event.uid);
      const type = str(event.event);
      if (!uid || !type) {
        result.malformed.push(record.seq);
        continue;
      }
      const sid = str(event.sid) ?? NO_SESSION;
      const parsedTime = Date.parse(str(event.time) ?? '');
      const time = Number.isNaN(parsedTime) ? 0 : parsedTime;
      const ei = typeof event.ei === 'number' ? event.ei : 0;
      const changes = this.insertEvent.run(uid, record.seq, sid, ei, time, type, str(event.user), str(event.db_service), json).changes;
      if (!changes) {
        result.duplicates++;
        continue;
      }
      result.inserted++;
      if (sid !== NO_SESSION && type.startsWith('db.session')) this.addToSession(deltas, sid, type, time, event);
    }
    for (const delta of deltas.values()) this.upsertSession.run(delta);
    if (lastSeq) this.setCheckpoint.run(lastSeq);
    return result;
  }

  private addToSession(deltas: Map<string, SessionDelta>, sid: string, type: string, time: number, event: Row): void {
    let d = deltas.get(sid);
    if (!d) {
      d = {
        sid,
        cluster_name: str(event.cluster_name),
        user: str(event.user),
        db_service: str(event.db_service),
        db_user: str(event.db_user),
        db_name: str(event.db_name),
        db_type: str(event.db_type),
        start_ms: time,
        last_ms: time,
        end_ms: null,
        statements: 0,
        errors: 0,
        outcome: null,
        message: null,
      };
      deltas.set(sid, d);
    }
    d.start_ms = Math.min(d.start_ms, time);
    d.last_ms = Math.max(d.last_ms, time);
    if (type === AuditEvent.Query || type === AuditEvent.Execute) d.statements++;
    else if (type === AuditEvent.Result && event.success === false) d.errors++;
    else if (type === AuditEvent.SessionEnd) d.end_ms = time;
    else if (type === AuditEvent.SessionStart && event.success === false) {
      d.message = str(event.message) ?? str(event.error);
      d.outcome = d.message?.startsWith('access to db denied') ? 'denied' : 'failed';
    }
  }

  getSession(sid: string): AuditRpc.SessionSummary | undefined {
    const row = this.db.prepare('SELECT * FROM sessions WHERE sid = ?').get(sid) as Row | undefined;
    return row && toSummary(row);
  }

  /** Sessions newest first, `limit` per page. */
  listSessions(q: { from?: string; to?: string; user?: string; db?: string; limit: number; cursor?: string }): AuditRpc.SessionsPage {
    const where = new Where();
    if (q.from) where.add('start_ms >= ?', Date.parse(q.from));
    if (q.to) where.add('start_ms < ?', Date.parse(q.to));
    if (q.user) where.add('user = ?', q.user);
    if (q.db) where.add('db_service = ?', q.db);
    const after = decodeCursor<[number, string]>(q.cursor, ['number', 'string']);
    if (after) where.add('(start_ms < ? OR (start_ms = ? AND sid < ?))', after[0], after[0], after[1]);
    const rows = this.db
      .prepare(`SELECT * FROM sessions ${where} ORDER BY start_ms DESC, sid DESC LIMIT ?`)
      .all(...where.args, q.limit + 1) as Row[];
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      sessions: page.map(toSummary),
      ...(rows.length > q.limit && last ? { next_cursor: encodeCursor([last.start_ms as number, last.sid as string]) } : {}),
    };
  }

  /** A session's events after `afterEi`, in `ei` order, as many as fit in one reply. */
  sessionEvents(sid: string, afterEi: number, limit: number, maxBytes = PAGE_MAX_BYTES): AuditRpc.SessionEventsPage {
    const rows = this.db
      .prepare('SELECT json FROM events WHERE sid = ? AND ei > ? ORDER BY ei LIMIT ?')
      .raw()
      .all(sid, afterEi, limit + 1) as Array<[string]>;
    const events: Array<Record<string, unknown>> = [];
    let bytes = 0;
    for (const [json] of rows.slice(0, limit)) {
      // Always at least one event, so a page never comes back empty while events remain.
      const size = Buffer.byteLength(json);
      if (events.length && bytes + size > maxBytes) return { events, more: true };
      bytes += size;
      events.push(JSON.parse(json) as Record<string, unknown>);
    }
    return { events, more: rows.length > limit };
  }

  /** Events newest first, filtered by time, user, database, session and event type. */
  searchEvents(q: {
    from?: string;
    to?: string;
    user?: string;
    db?: string;
    sid?: string;
    event_types?: string[];
    limit: number;
    cursor?: string;
  }): AuditRpc.EventsPage {
    const where = new Where();
    if (q.from) where.add('time_ms >= ?', Date.parse(q.from));
    if (q.to) where.add('time_ms < ?', Date.parse(q.to));
    if (q.user) where.add('user = ?', q.user);
    if (q.db) where.add('db_service = ?', q.db);
    if (q.sid) where.add('sid = ?', q.sid);
    if (q.event_types?.length) where.add(`event IN (${q.event_types.map(() => '?').join(', ')})`, ...q.event_types);
    const after = decodeCursor<[number, number]>(q.cursor, ['number', 'number']);
    if (after) where.add('(time_ms < ? OR (time_ms = ? AND id < ?))', after[0], after[0], after[1]);
    const rows = this.db
      .prepare(`SELECT id, time_ms, json FROM events ${where} ORDER BY time_ms DESC, id DESC LIMIT ?`)
      .raw()
      .all(...where.args, q.limit + 1) as Array<[number, number, string]>;
    const events: Array<Record<string, unknown>> = [];
    let bytes = 0;
    let last: [number, number] | undefined;
    for (const [id, time, json] of rows.slice(0, q.limit)) {
      const size = Buffer.byteLength(json);
      if (events.length && bytes + size > PAGE_MAX_BYTES) break;
      bytes += size;
      events.push(JSON.parse(json) as Record<string, unknown>);
      last = [time, id];
    }
    const more = rows.length > events.length;
    return { events, ...(more && last ? { next_cursor: encodeCursor(last) } : {}) };
  }

  /** Bytes the index holds (free pages not counted). */
  sizeBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * (this.db.pragma('page_size', { simple: true }) as number);
  }

  counts(): { events: number; sessions: number } {
    const events = (this.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    const sessions = (this.db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n;
    return { events, sessions };
  }

  /**
   * Deletes events older than `retentionMs`, then the oldest events until the index is below
   * `maxBytes`, and the sessions left without events. Returns how many events went.
   */
  applyRetention(now: number, retentionMs: number, maxBytes: number): number {
    const cutoff = now - retentionMs;
    let deleted = this.db.prepare('DELETE FROM events WHERE time_ms < ?').run(cutoff).changes;
    this.db.prepare('DELETE FROM sessions WHERE last_ms < ?').run(cutoff);
    while (this.sizeBytes() > maxBytes) {
      const total = this.counts().events;
      if (!total) break;
      // The oldest tenth by arrival, which is time order within a few seconds.
      const step = Math.max(1, Math.ceil(total / 10));
      const bound = this.db.prepare('SELECT id FROM events ORDER BY id LIMIT 1 OFFSET ?').get(step - 1) as { id: number };
      deleted += this.db.prepare('DELETE FROM events WHERE id <= ?').run(bound.id).changes;
    }
    if (deleted) {
      this.db.exec('DELETE FROM sessions WHERE NOT EXISTS (SELECT 1 FROM events WHERE events.sid = sessions.sid)');
      this.db.pragma('incremental_vacuum');
    }
    return deleted;
  }

  close(): void {
    this.db.close();
  }
}

function toSummary(row: Row): AuditRpc.SessionSummary {
  const start = row.start_ms as number;
  const end = row.end_ms as number | null;
  const outcome = (row.outcome as AuditRpc.SessionOutcome | null) ?? (end !== null ? 'ok' : 'active');
  return {
    sid: row.sid as string,
    cluster_name: (row.cluster_name as string | null) ?? '',
    user: (row.user as string | null) ?? '',
    db_service: (row.db_service as string | null) ?? '',
    db_user: (row.db_user as string | null) ?? '',
    db_name: (row.db_name as string | null) ?? '',
    db_type: (row.db_type as string | null) ?? '',
    start: new Date(start).toISOString(),
    ...(end !== null ? { end: new Date(end).toISOString(), duration_ms: end - start } : {}),
    statements: row.statements as number,
    errors: row.errors as number,
    outcome,
    ...(row.message ? { message: row.message as string } : {}),
  };
}
