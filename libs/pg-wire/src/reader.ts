import { ProtocolViolationError } from './errors.js';

/**
 * A cursor over one message payload. Every read checks bounds and throws ProtocolViolationError, never
 * a RangeError: payloads come from the network. Strings are UTF-8; byte slices share the payload's memory.
 */
export class Reader {
  private offset = 0;

  constructor(
    private readonly buffer: Buffer,
    /** Names the message in errors, e.g. "Bind message". */
    private readonly what: string,
  ) {}

  byte(): number {
    this.need(1);
    return this.buffer[this.offset++] as number;
  }

  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  /** Counts on the wire are Int16 that the server reads unsigned (pq_getmsgint). */
  uint16(): number {
    this.need(2);
    const value = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** OIDs are unsigned 32-bit. */
  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A NUL-terminated string. */
  cstring(): string {
    const end = this.buffer.indexOf(0, this.offset);
    if (end === -1) throw this.violation(`has a string without its NUL terminator at offset ${this.offset}`);
    const value = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }

  bytes(length: number): Buffer {
    this.need(length);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** Everything not read yet. */
  rest(): Buffer {
    return this.bytes(this.buffer.length - this.offset);
  }

  /** Like the server's pq_getmsgend: trailing bytes are a violation, so we never audit less than it runs. */
  end(): void {
    const left = this.buffer.length - this.offset;
    if (left !== 0) throw this.violation(`has ${left} unexpected bytes after its last field`);
  }

  violation(problem: string): ProtocolViolationError {
    return new ProtocolViolationError(`${this.what} ${problem}`);
  }

  private need(n: number): void {
    if (n < 0 || this.offset + n > this.buffer.length) {
      throw this.violation(`is truncated: needs ${n} bytes at offset ${this.offset} of ${this.buffer.length}`);
    }
  }
}
