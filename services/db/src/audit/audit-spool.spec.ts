import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditSpool, type AuditSpoolOptions } from './audit-spool.js';
import type { SpoolRecord } from './spool-record.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'audit-spool-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const open = (options: Partial<AuditSpoolOptions> = {}) => AuditSpool.open({ dir, maxBytes: 1024 * 1024, ...options });
const event = (i: number, extra = '') => ({
  subject: `audit.s.db.session.query`,
  uid: `uid-${i}`,
  body: JSON.stringify({ ei: i, db_query: `select ${i}${extra}` }),
});

function append(spool: AuditSpool, from: number, to: number, extra = ''): void {
  for (let i = from; i < to; i++) {
    const e = event(i, extra);
    expect(spool.stage(e.subject, e.uid, e.body)).toBe(true);
  }
  expect(spool.commit()).toBe(true);
}

async function readAll(spool: AuditSpool, from = spool.acknowledged): Promise<SpoolRecord[]> {
  const all: SpoolRecord[] = [];
  for (let pos = from; pos < spool.end;) {
    const { records, next } = await spool.read(pos, 500);
    all.push(...records);
    pos = next;
  }
  return all;
}

const uids = (records: SpoolRecord[]) => records.map((r) => r.uid);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `uid-${from + i}`);
const segmentFiles = () => readdirSync(dir).filter((f) => f.endsWith('.spool'));

describe('AuditSpool', () => {
  it.each([
    ['from memory', {}],
    ['from the files', { tailBytes: 0 }],
  ])('reads back what was appended, in order, with subject, uid and body (%s)', async (_, options) => {
    const spool = open(options);
    append(spool, 0, 3);
    append(spool, 3, 10, ' and a längere Zeile 🍎');
    const records = await readAll(spool);
    expect(uids(records)).toEqual(range(0, 10));
    expect(records[4]).toMatchObject({ subject: 'audit.s.db.session.query', uid: 'uid-4' });
    expect(JSON.parse(records[4]!.body.toString())).toEqual({ ei: 4, db_query: 'select 4 and a längere Zeile 🍎' });
    // Positions are contiguous: each record starts where the one before ended.
    for (let i = 1; i < records.length; i++) expect(records[i]!.start).toBe(records[i - 1]!.end);
    expect(records.at(-1)!.end).toBe(spool.end);
    await spool.close();
  });

  it('writes nothing until commit, and everything staged with one commit', async () => {
    const spool = open();
    const e = event(0);
    spool.stage(e.subject, e.uid, e.body);
    expect(spool.end).toBe(0);
    expect(spool.commit()).toBe(true);
    expect(spool.end).toBeGreaterThan(0);
    expect(statSync(join(dir, segmentFiles()[0]!)).size).toBe(spool.end);
    await spool.close();
  });

  it('survives the process: a new spool on the same directory has every event, and resumes at the checkpoint', async () => {
    const first = open({ checkpointIntervalMs: 1 });
    append(first, 0, 20);
    const records = await readAll(first);
    first.acknowledge(records[11]!.end);
    await new Promise((r) => setTimeout(r, 30));
    // No close(): as after SIGKILL, only what write() and the checkpoint file hold.
    const second = open();
    expect(second.acknowledged).toBe(records[11]!.end);
    expect(uids(await readAll(second))).toEqual(range(12, 20));
    append(second, 20, 22);
    expect(uids(await readAll(second))).toEqual(range(12, 22));
    await second.close();
    await first.close();
  });

  it('ignores a torn record at the end after a crash and appends after the last whole one', async () => {
    const first = open();
    append(first, 0, 5);
    const [file] = segmentFiles();
    const whole = statSync(join(dir, file!)).size;
    // Half a record, as a process killed inside write() could leave it.
    const bytes = readFileSync(join(dir, file!));
    appendFileSync(join(dir, file!), bytes.subarray(0, 30));
    const warnings: string[] = [];
    const second = open({ warn: (m) => warnings.push(m) });
    expect(second.end).toBe(whole);
    expect(warnings.join()).toMatch(/dropped 30 bytes/);
    append(second, 5, 7);
    expect(uids(await readAll(second))).toEqual(range(0, 7));
    await second.close();
    await first.close();
  });

  it('ignores a last record whose checksum does not match', async () => {
    const first = open();
    append(first, 0, 3);
    const [file] = segmentFiles();
    const bytes = readFileSync(join(dir, file!));
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0xff;
    writeFileSync(join(dir, file!), bytes);
    const second = open();
    expect(uids(await readAll(second))).toEqual(range(0, 2));
    await second.close();
    await first.close();
  });

  it('starts new segments and deletes those wholly acknowledged', async () => {
    const spool = open({ segmentBytes: 500, checkpointIntervalMs: 1 });
    for (let i = 0; i < 40; i += 4) append(spool, i, i + 4);
    expect(segmentFiles().length).toBeGreaterThan(4);
    const records = await readAll(spool);
    expect(uids(records)).toEqual(range(0, 40));
    spool.acknowledge(records[29]!.end);
    await new Promise((r) => setTimeout(r, 50));
    // Only segments that still hold an unacknowledged event remain.
    const firstKept = Number(segmentFiles().sort()[0]!.slice(0, 16));
    expect(firstKept).toBeLessThanOrEqual(records[30]!.start);
    expect(firstKept).toBeGreaterThan(records[0]!.start);
    expect(uids(await readAll(spool))).toEqual(range(30, 40));
    await spool.close();
    const again = open({ segmentBytes: 500 });
    expect(uids(await readAll(again))).toEqual(range(30, 40));
    await again.close();
  });

  it('keeps the last records written in memory, and reads older ones from the files', async () => {
    const warnings: string[] = [];
    const spool = open({ tailBytes: 400, warn: (m) => warnings.push(m) });
    append(spool, 0, 10); // ten records of the same length
    const length = spool.end / 10;
    const inMemory = Math.floor(400 / length);
    // Spoil the file: what the spool holds in memory still reads back, older records do not.
    const file = join(dir, segmentFiles()[0]!);
    writeFileSync(file, Buffer.alloc(statSync(file).size));
    const kept = await readAll(spool, spool.end - inMemory * length);
    expect(uids(kept)).toEqual(range(10 - inMemory, 10));
    expect(warnings).toEqual([]);
    expect((await spool.read(spool.end - (inMemory + 1) * length, 1 << 20)).records).toEqual([]);
    expect(warnings.join()).toMatch(/cannot be read and are skipped/);
    // Acknowledged records leave memory; those after them stay.
    spool.acknowledge(spool.end - length);
    expect((await spool.read(spool.end - 2 * length, 1 << 20)).records).toEqual([]);
    expect(uids((await spool.read(spool.end - length, 1 << 20)).records)).toEqual(['uid-9']);
    await spool.close();
  });

  it('reads on over a segment a machine crash cut short', async () => {
    const spool = open({ segmentBytes: 500 });
    for (let i = 0; i < 40; i += 4) append(spool, i, i + 4);
    await spool.close();
    const [first] = segmentFiles().sort();
    truncateSync(join(dir, first!), statSync(join(dir, first!)).size - 10);
    const warnings: string[] = [];
    const again = open({ segmentBytes: 500, warn: (m) => warnings.push(m) });
    const got = uids(await readAll(again));
    expect(got.length).toBeLessThan(40);
    expect(got.at(-1)).toBe('uid-39');
    expect(warnings.join()).toMatch(/cannot be read and are skipped/);
    await again.close();
  });

  it('is bounded by size: near the limit it refuses sessions, at it refuses events', async () => {
    const spool = open({ maxBytes: 10_000, segmentBytes: 2_000, checkpointIntervalMs: 1 });
    expect(spool.acceptingSessions()).toBe(true);
    let appended = 0;
    for (;;) {
      const e = event(appended, 'x'.repeat(50));
      if (!spool.stage(e.subject, e.uid, e.body)) break;
      spool.commit();
      appended++;
    }
    expect(spool.size()).toBeLessThanOrEqual(10_000);
    expect(spool.size()).toBeGreaterThan(9_000);
    expect(spool.acceptingSessions()).toBe(false);
    expect(spool.refusal()).toMatch(/holds 9\.\d KiB of its 9\.8 KiB of events not yet stored in the audit log \(is NATS reachable\?\)/);
    // Once JetStream has them, their segments go and there is room again.
    spool.acknowledge(spool.end);
    await new Promise((r) => setTimeout(r, 50));
    expect(spool.acceptingSessions()).toBe(true);
    const e = event(999);
    expect(spool.stage(e.subject, e.uid, e.body)).toBe(true);
    expect(spool.commit()).toBe(true);
    await spool.close();
  });

  it('reads a record bigger than the amount asked for whole', async () => {
    const spool = open();
    append(spool, 0, 1, 'y'.repeat(5_000));
    const { records, next } = await spool.read(0, 100);
    expect(uids(records)).toEqual(['uid-0']);
    expect(next).toBe(spool.end);
    await spool.close();
  });
});
