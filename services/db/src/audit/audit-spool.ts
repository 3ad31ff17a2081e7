import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { formatByteSize } from '#libs/common';
import { readRecord, RECORD_HEADER_BYTES, recordBound, writeRecord, type SpoolRecord } from './spool-record.js';

const SEGMENT_FILE = /^(\d{16})\.spool$/;
const CHECKPOINT_FILE = 'checkpoint.json';
/** New sessions are refused once the spool holds this share of its maximum. */
const NEAR_FULL = 0.8;
const STAGING_BYTES = 64 * 1024;
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Recently written records kept in memory, so the publisher rarely reads back what was just written. */
const TAIL_BYTES = 4 * 1024 * 1024;

export interface AuditSpoolOptions {
  dir: string;
  /** Bytes of events the spool holds at most (acknowledged ones count until their segment is deleted). */
  maxBytes: number;
  /** A new segment file starts past this size; default: 64 MiB, or an eighth of maxBytes if less. */
  segmentBytes?: number;
  /** How long written events may wait for fdatasync: what a machine crash can lose. */
  syncIntervalMs?: number;
  /** How often the acknowledged position is saved. */
  checkpointIntervalMs?: number;
  /** Bytes of the last records written kept in memory for the publisher; default 4 MiB. */
  tailBytes?: number;
  warn?: (message: string) => void;
}

/** What the spool holds after it was opened: the events a previous process left unsent. */
export interface SpoolState {
  acknowledged: number;
  end: number;
}

/**
 * The Database Service's audit spool: every audit event is appended here before the bytes that caused
 * it go on to the database, so a process killed at any point loses none. Positions are byte offsets in
 * one endless log cut into segment files named by their first position; a checkpoint file keeps how far
 * JetStream has acknowledged, and segments wholly behind it are deleted.
 *
 * Writes are grouped: `stage` adds records to a buffer, `commit` hands the buffer to the OS with one
 * write() (no fsync: a killed process loses nothing once write() returned). fdatasync runs in the
 * background at most `syncIntervalMs` later, so a machine crash loses at most that much.
 */
export class AuditSpool {
  private readonly segments: number[];
  private fd: number;
  private endPos: number;
  private ackedPos: number;
  private staging = Buffer.allocUnsafe(STAGING_BYTES);
  private staged = 0;
  /** Where each staged record starts in `staging`, with its subject and uid. */
  private stagedRecords: Array<{ offset: number; length: number; subject: string; uid: string }> = [];
  /** The last records written, in order and without a gap up to `end` (from `tailHead` on). */
  private tail: SpoolRecord[] = [];
  private tailHead = 0;
  private tailBytes = 0;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly syncIntervalMs: number;
  private readonly checkpointIntervalMs: number;
  private readonly tailLimit: number;
  private readonly warn: (message: string) => void;
  private dirty = false;
  private syncing = false;
  private syncTimer?: NodeJS.Timeout;
  /** Finished segments waiting for their last fdatasync before they are closed. */
  private retired: number[] = [];
  private checkpointTimer?: NodeJS.Timeout;
  private checkpointing: Promise<void> = Promise.resolve();
  private reader?: { start: number; handle: Promise<FileHandle> };
  private writeError?: string;
  private readonly listeners: Array<() => void> = [];
  private closed = false;

  private constructor(
    private readonly dir: string,
    options: AuditSpoolOptions,
    segments: number[],
    fd: number,
    end: number,
    acked: number,
  ) {
    this.maxBytes = options.maxBytes;
    this.segmentBytes = options.segmentBytes ?? Math.min(MAX_SEGMENT_BYTES, Math.max(4096, Math.floor(options.maxBytes / 8)));
    this.syncIntervalMs = options.syncIntervalMs ?? 5;
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? 50;
    this.tailLimit = options.tailBytes ?? TAIL_BYTES;
    this.warn = options.warn ?? (() => undefined);
    this.segments = segments;
    this.fd = fd;
    this.endPos = end;
    this.ackedPos = acked;
  }

  /**
   * Opens the spool in `dir`, creating it if needed. The last segment is read through: a record the
   * previous process was writing when it died (short, or failing its checksum) is cut off.
   */
  static open(options: AuditSpoolOptions): AuditSpool {
    const { dir } = options;
    const warn = options.warn ?? (() => undefined);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const starts = readdirSync(dir)
      .map((name) => SEGMENT_FILE.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const checkpoint = readCheckpoint(dir);
    while (starts.length > 1 && checkpoint !== undefined && starts[1]! <= checkpoint) unlinkSync(segmentPath(dir, starts.shift()!));
    if (!starts.length) starts.push(checkpoint ?? 0);
    const last = starts.at(-1)!;
    const fd = openSync(segmentPath(dir, last), 'a+', 0o600);
    const content = readFileSync(segmentPath(dir, last));
    let valid = 0;
    for (;;) {
      const result = readRecord(content, valid, last);
      if (result.kind !== 'record') break;
      valid = result.record.end - last;
    }
    if (valid < content.length) {
      ftruncateSync(fd, valid);
      warn(`audit spool: dropped ${content.length - valid} bytes at its end, the record being written when the last process stopped`);
    }
    const end = last + valid;
    const acked = Math.min(Math.max(checkpoint ?? starts[0]!, starts[0]!), end);
    return new AuditSpool(dir, options, starts, fd, end, acked);
  }

  /** Where the next event will be written: every record before it is on its way to the OS. */
  get end(): number {
    return this.endPos;
  }

  /** Where JetStream's acknowledgements have reached. */
  get acknowledged(): number {
    return this.ackedPos;
  }

  /** Bytes the segment files hold. */
  size(): number {
    return this.endPos - this.segments[0]!;
  }

  state(): SpoolState {
    return { acknowledged: this.ackedPos, end: this.endPos };
  }

  /** False when new sessions must be refused: the spool is nearly full, or cannot be written. */
  acceptingSessions(): boolean {
    return !this.writeError && this.size() < this.maxBytes * NEAR_FULL;
  }

  /** Why events cannot be taken, for the message a user sees. */
  refusal(): string {
    if (this.closed) return 'the Database Service is stopping';
    if (this.writeError) return `the audit spool of the Database Service cannot be written (${this.writeError})`;
    return (
      `the audit spool of the Database Service holds ${formatByteSize(this.size())} of its ${formatByteSize(this.maxBytes)} ` +
      `of events not yet stored in the audit log (is NATS reachable?)`
    );
  }

  /** Adds one event to the next write; false when the spool has no room for it. */
  stage(subject: string, uid: string, body: string): boolean {
    if (this.writeError || this.closed) return false;
    const bound = recordBound(subject, uid, body);
    if (this.staged + bound > this.staging.length) this.grow(this.staged + bound);
    const length = writeRecord(this.staging, this.staged, subject, uid, body);
    if (this.size() + this.staged + length > this.maxBytes) return false;
    this.stagedRecords.push({ offset: this.staged, length, subject, uid });
    this.staged += length;
    return true;
  }

  /**
   * Writes what was staged with one write(): once it returns, the events survive the death of this
   * process. False if the write failed (the events are not kept).
   */
  commit(): boolean {
    const length = this.staged;
    if (!length) return !this.writeError;
    this.staged = 0;
    const staged = this.stagedRecords;
    this.stagedRecords = [];
    let failure: Error | undefined;
    try {
      for (let done = 0; done < length;) done += writeSync(this.fd, this.staging, done, length - done);
      this.keepInTail(this.staging.subarray(0, length), staged);
    } catch (err) {
      failure = err as Error;
    }
    if (this.staging.length > 16 * STAGING_BYTES) this.staging = Buffer.allocUnsafe(STAGING_BYTES);
    if (failure) {
      this.failWrite(failure);
      return false;
    }
    this.endPos += length;
    this.committedEvents += staged.length;
    this.dirty = true;
    this.scheduleSync();
    if (this.endPos - this.segments.at(-1)! >= this.segmentBytes) this.rotate();
    for (const listener of this.listeners) listener();
    return true;
  }

  /** Events written to the spool since it was opened (dbaccess.audit.events.queued). */
  committedEvents = 0;

  /** Calls `listener` after every commit. */
  onCommit(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * Records from `from` (a record boundary) on, about `maxBytes` of them (more if one record is
   * bigger), and the position after them. A segment that cannot be read (a machine crash cut it short)
   * is skipped with a warning.
   */
  async read(from: number, maxBytes: number): Promise<{ records: SpoolRecord[]; next: number }> {
    const kept = this.readTail(from, maxBytes);
    if (kept) return kept;
    let pos = Math.max(from, this.segments[0]!);
    let want = maxBytes;
    while (pos < this.endPos) {
      const i = this.segmentIndex(pos);
      const start = this.segments[i]!;
      const segmentEnd = i + 1 < this.segments.length ? this.segments[i + 1]! : this.endPos;
      const length = Math.min(want, segmentEnd - pos);
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await (await this.handle(start)).read(buf, 0, length, pos - start);
      const records: SpoolRecord[] = [];
      let offset = 0;
      for (;;) {
        const result = readRecord(buf.subarray(0, bytesRead), offset, pos);
        if (result.kind === 'record') {
          records.push(result.record);
          offset = result.record.end - pos;
          continue;
        }
        if (records.length) return { records, next: pos + offset };
        if (
          result.kind === 'short' &&
          bytesRead === length &&
          result.length &&
          result.length > length &&
          pos + result.length <= segmentEnd
        ) {
          want = result.length;
          break;
        }
        this.warn(`audit spool: ${segmentEnd - pos} bytes at position ${pos} cannot be read and are skipped`);
        pos = segmentEnd;
        break;
      }
    }
    return { records: [], next: pos };
  }

  /** JetStream has stored every event before `position`; it is saved shortly, and whole segments behind it deleted. */
  acknowledge(position: number): void {
    if (position <= this.ackedPos) return;
    this.ackedPos = Math.min(position, this.endPos);
    this.dropTail((record) => record.end <= this.ackedPos);
    if (this.closed) return;
    this.checkpointTimer ??= setTimeout(() => {
      this.checkpointTimer = undefined;
      this.checkpointing = this.checkpointing.then(() => this.saveCheckpoint());
    }, this.checkpointIntervalMs);
  }

  /** Writes what is staged, syncs, saves the checkpoint and closes the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.commit();
    this.closed = true;
    clearTimeout(this.syncTimer);
    clearTimeout(this.checkpointTimer);
    while (this.syncing) await new Promise((r) => setTimeout(r, 1));
    for (const fd of [...this.retired, this.fd]) {
      try {
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    this.retired = [];
    await this.checkpointing;
    await this.saveCheckpoint();
    await this.closeReader();
  }

  /** Keeps the records just written (one copy of their bytes) for `readTail`. */
  private keepInTail(written: Buffer, staged: typeof this.stagedRecords): void {
    const bytes = Buffer.from(written);
    for (const { offset, length, subject, uid } of staged) {
      const subjectBytes = bytes.readUInt16LE(offset + RECORD_HEADER_BYTES);
      const uidAt = offset + RECORD_HEADER_BYTES + 2 + subjectBytes;
      const bodyAt = uidAt + 1 + bytes.readUInt8(uidAt);
      const start = this.endPos + offset;
      this.tail.push({ start, end: start + length, subject, uid, body: bytes.subarray(bodyAt, offset + length) });
      this.tailBytes += length;
    }
    this.dropTail(() => this.tailBytes > this.tailLimit);
  }

  private dropTail(drop: (record: SpoolRecord) => boolean): void {
    while (this.tailHead < this.tail.length && drop(this.tail[this.tailHead]!)) {
      const record = this.tail[this.tailHead++]!;
      this.tailBytes -= record.end - record.start;
    }
    if (this.tailHead === this.tail.length) {
      this.tail = [];
      this.tailHead = 0;
    } else if (this.tailHead > 1024 && this.tailHead * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.tailHead);
      this.tailHead = 0;
    }
  }

  /** Records from `from` on out of memory, or undefined when `from` is older than what is kept. */
  private readTail(from: number, maxBytes: number): { records: SpoolRecord[]; next: number } | undefined {
    if (this.tailHead === this.tail.length || from < this.tail[this.tailHead]!.start) return undefined;
    let lo = this.tailHead;
    let hi = this.tail.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tail[mid]!.start < from) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.tail.length && this.tail[lo]!.start !== from) return undefined; // not a record boundary
    const records: SpoolRecord[] = [];
    let bytes = 0;
    for (let i = lo; i < this.tail.length && (bytes < maxBytes || !records.length); i++) {
      const record = this.tail[i]!;
      records.push(record);
      bytes += record.end - record.start;
    }
    return { records, next: records.length ? records.at(-1)!.end : from };
  }

  private grow(needed: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(needed, 2 * this.staging.length));
    this.staging.copy(bigger, 0, 0, this.staged);
    this.staging = bigger;
  }

  private failWrite(err: Error): void {
    // Part of the records may have reached the file: cut it back to the last whole record.
    try {
      ftruncateSync(this.fd, this.endPos - this.segments.at(-1)!);
      this.warn(`audit spool: cannot write events: ${err.message}; sessions that produce events are ended`);
    } catch (truncateErr) {
      this.writeError = (err as NodeJS.ErrnoException).code ?? err.message;
      this.warn(`audit spool: cannot write events (${err.message}) nor cut the file back (${(truncateErr as Error).message})`);
    }
  }

  private rotate(): void {
    this.retired.push(this.fd);
    this.segments.push(this.endPos);
    this.fd = openSync(segmentPath(this.dir, this.endPos), 'a+', 0o600);
    this.scheduleSync();
  }

  private scheduleSync(): void {
    if (this.syncTimer || this.syncing || this.closed) return;
    this.syncTimer = setTimeout(() => this.sync(), this.syncIntervalMs);
  }

  private sync(): void {
    this.syncTimer = undefined;
    const retired = this.retired.splice(0);
    const fds = this.dirty ? [this.fd, ...retired] : retired;
    this.dirty = false;
    if (!fds.length) return;
    this.syncing = true;
    let left = fds.length;
    for (const fd of fds) {
      fdatasync(fd, (err) => {
        if (err) this.warn(`audit spool: fdatasync failed: ${err.message}`);
        if (retired.includes(fd)) closeSync(fd);
        if (--left > 0) return;
        this.syncing = false;
        if (this.dirty || this.retired.length) this.scheduleSync();
      });
    }
  }

  private async saveCheckpoint(): Promise<void> {
    const position = this.ackedPos;
    const file = join(this.dir, CHECKPOINT_FILE);
    try {
      await writeFile(`${file}.tmp`, JSON.stringify({ position }), { mode: 0o600 });
      await rename(`${file}.tmp`, file);
    } catch (err) {
      this.warn(`audit spool: cannot save its checkpoint: ${(err as Error).message}`);
      return;
    }
    while (this.segments.length > 1 && this.segments[1]! <= position) {
      const start = this.segments.shift()!;
      if (this.reader?.start === start) await this.closeReader();
      await unlink(segmentPath(this.dir, start)).catch((err: Error) => this.warn(`audit spool: cannot delete a segment: ${err.message}`));
    }
  }

  private segmentIndex(pos: number): number {
    let i = this.segments.length - 1;
    while (i > 0 && this.segments[i]! > pos) i--;
    return i;
  }

  private handle(start: number): Promise<FileHandle> {
    if (this.reader?.start !== start) {
      void this.closeReader();
      this.reader = { start, handle: open(segmentPath(this.dir, start), 'r') };
    }
    return this.reader.handle;
  }

  private async closeReader(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    await reader?.handle.then((h) => h.close()).catch(() => undefined);
  }
}

function segmentPath(dir: string, start: number): string {
  return join(dir, `${String(start).padStart(16, '0')}.spool`);
}

function readCheckpoint(dir: string): number | undefined {
  try {
    const { position } = JSON.parse(readFileSync(join(dir, CHECKPOINT_FILE), 'utf8')) as { position?: unknown };
    return typeof position === 'number' && Number.isSafeInteger(position) && position >= 0 ? position : undefined;
  } catch {
    // None yet, or unreadable: everything in the spool is sent again (JetStream drops the duplicates).
    return undefined;
  }
}
