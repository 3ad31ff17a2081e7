import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BusTarget } from './bus.js';
import { readStream } from './cluster-stream.js';

/** One message of the AUDIT stream: where JetStream stored it and the event it carries. */
export interface AuditMessage {
  seq: number;
  subject: string;
  event: Record<string, any>;
}

/**
 * Every audit event stored so far (or those on `subjects`, such as `audit.*.db.session.end`), in stream
 * order, read straight from NATS.
 */
export async function readAudit(cluster: BusTarget, subjects?: string[]): Promise<AuditMessage[]> {
  return (await readStream(cluster, 'AUDIT', subjects)).map((m) => ({ seq: m.seq, subject: m.subject, event: JSON.parse(m.body) }));
}

export interface SessionLog {
  sid: string;
  /** The session's messages (subject `audit.<sid>.>`) in stream order, duplicates included. */
  messages: AuditMessage[];
}

/**
 * Waits, within `timeoutMs`, for the one session whose `db.session.start` matches `isStart` to be
 * completely stored: its `db.session.end` is there and so is every event index before it. Fails with
 * what is stored so far otherwise.
 */
export async function waitForSession(
  cluster: BusTarget,
  isStart: (start: Record<string, any>) => boolean,
  timeoutMs = 20_000,
): Promise<SessionLog> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no matching db.session.start';
  for (;;) {
    const starts = (await readAudit(cluster, ['audit.*.db.session.start'])).filter((m) => isStart(m.event));
    if (starts.length > 1) throw new Error(`${starts.length} sessions match: ${JSON.stringify(starts.map((s) => s.event))}`);
    if (starts.length === 1) {
      const sid = starts[0]!.event.sid as string;
      const messages = await readAudit(cluster, [`audit.${sid}.>`]);
      const end = messages.find((m) => m.event.event === 'db.session.end');
      const indexes = new Set(messages.map((m) => m.event.ei as number));
      if (end && indexes.size === (end.event.ei as number) + 1 && [...indexes].every((i) => i <= end.event.ei)) return { sid, messages };
      last = `session ${sid} so far: ${JSON.stringify(messages.map((m) => [m.event.ei, m.event.event]))}`;
    }
    if (Date.now() > deadline) throw new Error(`the audit log did not complete within ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Waits until the Database Service with `dataDir` has every event of its audit spool acknowledged by
 * the AUDIT stream: its checkpoint has reached the end of its last segment.
 */
export async function waitForSpoolDrained(dataDir: string, timeoutMs = 60_000): Promise<void> {
  const dir = join(dataDir, 'audit-spool');
  const deadline = Date.now() + timeoutMs;
  let state = '';
  for (;;) {
    const segments = readdirSync(dir).filter((f) => /^\d{16}\.spool$/.test(f));
    const end = Math.max(0, ...segments.map((f) => Number(f.slice(0, 16)) + statSync(join(dir, f)).size));
    let checkpoint = -1;
    try {
      checkpoint = (JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { position: number }).position;
    } catch {
      // not written yet
    }
    if (checkpoint >= end) return;
    state = `checkpoint ${checkpoint}, end ${end}`;
    if (Date.now() > deadline) throw new Error(`the audit spool in ${dir} was not drained within ${timeoutMs} ms: ${state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
