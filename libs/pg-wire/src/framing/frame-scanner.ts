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

export interface FrameScannerOptions {
  phase: Phase;
  /** The largest payload accepted; checked as soon as a header is read, for skipped frames too. */
  maxFrameLength: number;
  /** Called once per frame, when its header is read: true buffers and returns the payload, false only counts it. */
  inspect: (type: number | null, length: number) => boolean;
  /** An inspected payload is kept up to this many bytes; the rest is only counted. Default: all of it. */
  maxInspectBytes?: number;
}

// Startup header: Int32 length (counts itself). Regular header: Byte1 type, Int32 length (counts itself,
// not the type byte). The length is read unsigned, so 0x80000000 and above are too large, not negative.
const HEADER_SIZE = { startup: 4, regular: 5 } as const;
// A startup payload starts with an Int32 code: the protocol version (major 3 in the high 16 bits) for a
// StartupMessage, 1234.x for SSLRequest, GSSENCRequest and CancelRequest.
const PROTOCOL_MAJOR = 3;

interface OpenFrame {
  type: number | null;
  length: number;
  remaining: number;
  /** Copies of the payload pieces seen so far, only when inspected. */
  parts: Buffer[] | null;
  /** How many more payload bytes are kept. */
  keep: number;
}

/**
 * Finds frame boundaries in a byte stream relayed chunk by chunk. It holds at most one header and the
 * payload of an inspected frame; a skipped frame's bytes are only counted, so a 50 MB DataRow passes
 * through without being buffered. After a StartupMessage the next frame is read as a regular one, even
 * within the same chunk (the server does the same), so setPhase('regular') after it changes nothing.
 * After an error the connection is unusable: every later push throws it again.
 */
export class FrameScanner {
  private phase: Phase;
  private readonly maxFrameLength: number;
  private readonly inspect: FrameScannerOptions['inspect'];
  private readonly maxInspectBytes: number;
  private readonly header = Buffer.alloc(HEADER_SIZE.regular);
  private headerFilled = 0;
  private frame: OpenFrame | null = null;
  private readonly code = Buffer.alloc(4);
  private codeFilled = 0;

  constructor(opts: FrameScannerOptions) {
    this.phase = opts.phase;
    this.maxFrameLength = opts.maxFrameLength;
    this.inspect = opts.inspect;
    this.maxInspectBytes = opts.maxInspectBytes ?? Infinity;
  }

  /** Consumes the next chunk; returns the frames completed within it, in order. */
  push(chunk: Buffer): ScannedFrame[] {
    const frames: ScannedFrame[] = [];
    let offset = 0;
    for (;;) {
      if (this.frame === null) {
        const size = HEADER_SIZE[this.phase];
        const n = Math.min(size - this.headerFilled, chunk.length - offset);
        chunk.copy(this.header, this.headerFilled, offset, offset + n);
        this.headerFilled += n;
        offset += n;
        if (this.headerFilled < size) return frames;
        this.frame = this.open();
        this.headerFilled = 0;
      }
      const n = Math.min(this.frame.remaining, chunk.length - offset);
      if (n > 0) this.consume(this.frame, chunk.subarray(offset, offset + n));
      offset += n;
      if (this.frame.remaining > 0) return frames;
      frames.push(this.close(this.frame));
      this.frame = null;
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
    return this.headerFilled > 0 || this.frame !== null;
  }

  private open(): OpenFrame {
    const type = this.phase === 'startup' ? null : (this.header[0] as number);
    const lengthField = this.header.readUInt32BE(type === null ? 0 : 1);
    if (lengthField < 4) {
      throw new ProtocolViolationError(`invalid message length ${lengthField}: the length counts itself, so it is at least 4`);
    }
    const length = lengthField - 4;
    if (length > this.maxFrameLength) throw new FrameTooLargeError(length, this.maxFrameLength);
    const parts = this.inspect(type, length) ? [] : null;
    return { type, length, remaining: length, parts, keep: Math.min(length, this.maxInspectBytes) };
  }

  private consume(frame: OpenFrame, bytes: Buffer): void {
    if (frame.type === null && this.codeFilled < this.code.length) {
      this.codeFilled += bytes.copy(this.code, this.codeFilled);
    }
    // A copy: the caller relays and may reuse its chunk, and a slice would pin the whole chunk.
    if (frame.parts && frame.keep > 0) {
      const kept = bytes.length <= frame.keep ? bytes : bytes.subarray(0, frame.keep);
      frame.parts.push(Buffer.from(kept));
      frame.keep -= kept.length;
    }
    frame.remaining -= bytes.length;
  }

  private close(frame: OpenFrame): ScannedFrame {
    if (frame.type === null) {
      if (this.codeFilled === this.code.length && this.code.readUInt16BE(0) === PROTOCOL_MAJOR) this.phase = 'regular';
      this.codeFilled = 0;
    }
    const { type, length, parts } = frame;
    if (parts === null) return { type, length };
    const kept = Math.min(length, this.maxInspectBytes);
    const payload = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, kept);
    return kept < length ? { type, length, payload, truncated: true } : { type, length, payload };
  }
}
