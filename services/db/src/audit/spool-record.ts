import { crc32 } from 'node:zlib';

// One record of the audit spool:
//   uint32 LE  payload length
//   uint32 LE  CRC-32 of the payload
//   payload:   uint16 LE subject length, subject, uint8 uid length, uid, body (the event's JSON)
// A crash can leave the last record short or half-written; its checksum tells it apart.
export const RECORD_HEADER_BYTES = 8;

/** An event read back from the spool, where it lies (`start` to `end`) and what to publish. */
export interface SpoolRecord {
  start: number;
  end: number;
  subject: string;
  uid: string;
  body: Buffer;
}

/** The most bytes `writeRecord` may need: UTF-8 takes at most three bytes per UTF-16 unit. */
export function recordBound(subject: string, uid: string, body: string): number {
  return RECORD_HEADER_BYTES + 3 + 3 * (subject.length + uid.length + body.length);
}

/** Writes one record at `offset` (the buffer has `recordBound` bytes there); returns its length. */
export function writeRecord(buf: Buffer, offset: number, subject: string, uid: string, body: string): number {
  let at = offset + RECORD_HEADER_BYTES;
  const subjectBytes = buf.write(subject, at + 2, 'utf8');
  buf.writeUInt16LE(subjectBytes, at);
  at += 2 + subjectBytes;
  const uidBytes = buf.write(uid, at + 1, 'utf8');
  buf.writeUInt8(uidBytes, at);
  at += 1 + uidBytes;
  at += buf.write(body, at, 'utf8');
  const payload = at - offset - RECORD_HEADER_BYTES;
  buf.writeUInt32LE(payload, offset);
  buf.writeUInt32LE(crc32(buf.subarray(offset + RECORD_HEADER_BYTES, at)), offset + 4);
  return at - offset;
}

export type ReadResult =
  | { kind: 'record'; record: SpoolRecord }
  /** The bytes end inside the record; `length` is its whole length when the header was read. */
  | { kind: 'short'; length?: number }
  | { kind: 'corrupt' };

/** Reads the record at `offset` of `buf`, which holds spool bytes from position `base`. */
export function readRecord(buf: Buffer, offset: number, base: number): ReadResult {
  if (buf.length - offset < RECORD_HEADER_BYTES) return { kind: 'short' };
  const payload = buf.readUInt32LE(offset);
  const length = RECORD_HEADER_BYTES + payload;
  // The smallest payload has a subject, a uid and a body of at least one byte each.
  if (payload < 6) return { kind: 'corrupt' };
  if (buf.length - offset < length) return { kind: 'short', length };
  const body = buf.subarray(offset + RECORD_HEADER_BYTES, offset + length);
  if (crc32(body) !== buf.readUInt32LE(offset + 4)) return { kind: 'corrupt' };
  const subjectBytes = body.readUInt16LE(0);
  const uidAt = 2 + subjectBytes;
  if (uidAt + 1 > body.length) return { kind: 'corrupt' };
  const uidBytes = body.readUInt8(uidAt);
  const bodyAt = uidAt + 1 + uidBytes;
  if (bodyAt >= body.length) return { kind: 'corrupt' };
  return {
    kind: 'record',
    record: {
      start: base + offset,
      end: base + offset + length,
      subject: body.toString('utf8', 2, uidAt),
      uid: body.toString('utf8', uidAt + 1, bodyAt),
      body: body.subarray(bodyAt),
    },
  };
}
