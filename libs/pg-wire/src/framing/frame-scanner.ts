import { FrameTooLargeError, ProtocolViolationError } from '../errors.js';

/** startup: frames have no type byte; regular: every frame starts with one. */
export type Phase = 'startup' | 'regular';

export interface ScannedFrame {
  /** The type byte (e.g. 0x51 'Q'), null in the startup phase. */
  type: number | null;
  /** Payload length, excluding the type byte and the length field. */
  length: number;
  /** The payload, only for frames `inspect` selected: its first `maxInspectBytes` when `truncated`. */
  payload?: Buffer;
  /** The frame was longer than `maxInspectBytes`: `payload` is its beginning only. */
  truncated?: true;
}

/**
 * What to do with a frame, decided from its header: `true` keeps its payload and returns it, `false`
 * returns its type and length only, `'skip'` passes over it without returning it (nothing is
 * allocated for it: what a relay does with the frames it only forwards).
 */
export type Inspection = boolean | 'skip';

export interface FrameScannerOptions {
  phase: Phase;
  /** The largest payload accepted; checked as soon as a header is read, for skipped frames too. */
  maxFrameLength: number;
  /** Called once per frame, when its header is read. */
  inspect: (type: number | null, length: number) => Inspection;
  /** An inspected payload is kept up to this many bytes; the rest is only counted. Default: all of it. */
  maxInspectBytes?: number;
}

// Startup header: Int32 length (counts itself). Regular header: Byte1 type, Int32 length (counts itself,
// not the type byte). The length is read unsigned, so 0x80000000 and above are too large, not negative.
const HEADER_SIZE = { startup: 4, regular: 5 } as const;
// A startup payload starts with an Int32 code: the protocol version (major 3 in the high 16 bits) for a
// StartupMessage, 1234.x for SSLRequest, GSSENCRequest and CancelRequest.
const PROTOCOL_MAJOR = 3;
/** What a push that completes no frame worth returning returns: shared, so it cannot be changed. */
const NONE: readonly ScannedFrame[] = Object.freeze([]);

/**
 * Finds frame boundaries in a byte stream relayed chunk by chunk. It holds at most one header and the
 * payload of an inspected frame; a skipped frame's bytes are only counted, so a 50 MB DataRow passes
 * through without being buffered. A header that lies whole in a chunk is read where it is, and the
 * frame being read is kept in fields, not in an object: a frame that is skipped costs no allocation.
 * After a StartupMessage the next frame is read as a regular one, even within the same chunk (the
 * server does the same), so setPhase('regular') after it changes nothing. After an error the
 * connection is unusable: every later push throws it again.
 */
export class FrameScanner {
  private phase: Phase;
  private readonly maxFrameLength: number;
  private readonly inspect: FrameScannerOptions['inspect'];
  private readonly maxInspectBytes: number;
  private readonly header = Buffer.alloc(HEADER_SIZE.regular);
  private headerFilled = 0;
  /** The frame whose header was read: its type, payload length, what is left of it, and what is done with it. */
  private inFrame = false;
  private type: number | null = null;
  private length = 0;
  private remaining = 0;
  private inspection: Inspection = 'skip';
  /** Copies of the payload pieces seen so far, only when inspected. */
  private parts: Buffer[] = [];
  /** How many more payload bytes are kept. */
  private keep = 0;
  private readonly code = Buffer.alloc(4);
  private codeFilled = 0;
  private error?: Error;

  constructor(opts: FrameScannerOptions) {
    this.phase = opts.phase;
    this.maxFrameLength = opts.maxFrameLength;
    this.inspect = opts.inspect;
    this.maxInspectBytes = opts.maxInspectBytes ?? Infinity;
  }

  /** Consumes the next chunk; returns the frames completed within it that were not skipped, in order. */
  push(chunk: Buffer): readonly ScannedFrame[] {
    if (this.error) throw this.error;
    let frames: ScannedFrame[] | undefined;
    let offset = 0;
    const end = chunk.length;
    for (;;) {
      if (!this.inFrame) {
        const size = HEADER_SIZE[this.phase];
        if (this.headerFilled === 0 && end - offset >= size) {
          if (this.phase === 'startup') this.open(null, chunk.readUInt32BE(offset));
          else this.open(chunk[offset]!, chunk.readUInt32BE(offset + 1));
          offset += size;
        } else {
          if (offset === end) return frames ?? NONE;
          const n = Math.min(size - this.headerFilled, end - offset);
          chunk.copy(this.header, this.headerFilled, offset, offset + n);
          this.headerFilled += n;
          offset += n;
          if (this.headerFilled < size) return frames ?? NONE;
          this.headerFilled = 0;
          if (this.phase === 'startup') this.open(null, this.header.readUInt32BE(0));
          else this.open(this.header[0]!, this.header.readUInt32BE(1));
        }
      }
      const n = Math.min(this.remaining, end - offset);
      if (n > 0) {
        if (this.type === null || this.inspection === true) this.consume(chunk, offset, n);
        offset += n;
        this.remaining -= n;
      }
      if (this.remaining > 0) return frames ?? NONE;
      this.inFrame = false;
      if (this.type === null) this.closeStartup();
      if (this.inspection !== 'skip') (frames ??= []).push(this.close());
    }
  }

  /** Takes effect from the next frame header (or the one being read). */
  setPhase(phase: Phase): void {
    this.phase = phase;
  }

  /**
   * True when bytes of an unfinished frame were consumed. After an SSLRequest the client must wait for
   * the answer: bytes already sent after it are plaintext injected before TLS (CVE-2021-23214); refuse them.
   */
  get midFrame(): boolean {
    return this.headerFilled > 0 || this.inFrame;
  }

  private open(type: number | null, lengthField: number): void {
    if (lengthField < 4) {
      this.error = new ProtocolViolationError(`invalid message length ${lengthField}: the length counts itself, so it is at least 4`);
      throw this.error;
    }
    const length = lengthField - 4;
    if (length > this.maxFrameLength) {
      this.error = new FrameTooLargeError(length, this.maxFrameLength);
      throw this.error;
    }
    this.inFrame = true;
    this.type = type;
    this.length = length;
    this.remaining = length;
    this.inspection = this.inspect(type, length);
    // `parts` is empty here: close() handed the last inspected frame's pieces over.
    if (this.inspection === true) this.keep = Math.min(length, this.maxInspectBytes);
  }

  private consume(chunk: Buffer, offset: number, n: number): void {
    if (this.type === null && this.codeFilled < this.code.length) {
      this.codeFilled += chunk.copy(this.code, this.codeFilled, offset, offset + n);
    }
    // A copy: the caller relays and may reuse its chunk, and a slice would pin the whole chunk.
    if (this.inspection === true && this.keep > 0) {
      const kept = Math.min(n, this.keep);
      this.parts.push(Buffer.from(chunk.subarray(offset, offset + kept)));
      this.keep -= kept;
    }
  }

  private closeStartup(): void {
    if (this.codeFilled === this.code.length && this.code.readUInt16BE(0) === PROTOCOL_MAJOR) this.phase = 'regular';
    this.codeFilled = 0;
  }

  private close(): ScannedFrame {
    const { type, length } = this;
    if (this.inspection !== true) return { type, length };
    const parts = this.parts;
    this.parts = [];
    const kept = Math.min(length, this.maxInspectBytes);
    const payload = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, kept);
    return kept < length ? { type, length, payload, truncated: true } : { type, length, payload };
  }
}
