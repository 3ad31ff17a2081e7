import { ProtocolViolationError } from '../errors.js';
import { Reader } from '../reader.js';
import { FrontendType, type FrontendMessage, type Target } from './messages.js';

/**
 * Decodes the payload of a client message (what follows its type byte and Int32 length). As strict as
 * the server: trailing bytes and truncated fields are violations, so the audited message is the one run.
 */
export function parseFrontendMessage(type: number, payload: Buffer): FrontendMessage {
  const parse = parsers.get(type);
  if (parse === undefined) {
    throw new ProtocolViolationError(`invalid frontend message type ${type} (${quoteType(type)})`);
  }
  return parse(new Reader(payload, `${kindOf(type)} message`));
}

/**
 * Decodes what can be read of a client message of which only `prefix`, its beginning, was kept (a
 * message too big to hold for its audit event): strings and values cut where the prefix ends, lists
 * ending with the last item that began in it. Undefined for message types that are never that big.
 */
export function parseFrontendPrefix(type: number, prefix: Buffer): FrontendMessage | undefined {
  const r = new PrefixCursor(prefix);
  switch (type) {
    case FrontendType.Query:
      return { kind: 'Query', sql: r.cstring() };
    case FrontendType.Parse:
      return { kind: 'Parse', statementName: r.cstring(), sql: r.cstring(), parameterTypes: [] };
    case FrontendType.Bind: {
      const portalName = r.cstring();
      const statementName = r.cstring();
      const parameterFormats = r.list(() => r.int16());
      return { kind: 'Bind', portalName, statementName, parameterFormats, parameters: r.list(() => r.value()), resultFormats: [] };
    }
    case FrontendType.FunctionCall: {
      const functionOid = r.uint32();
      const argumentFormats = r.list(() => r.int16());
      return { kind: 'FunctionCall', functionOid, argumentFormats, arguments: r.list(() => r.value()), resultFormat: 0 };
    }
    default:
      return undefined;
  }
}

/** Reads a cut payload: whatever is missing reads as empty, never as an error. */
class PrefixCursor {
  private offset = 0;

  constructor(private readonly buffer: Buffer) {}

  private get left(): number {
    return this.buffer.length - this.offset;
  }

  cstring(): string {
    const nul = this.buffer.indexOf(0, this.offset);
    const end = nul === -1 ? this.buffer.length : nul;
    let value = this.buffer.toString('utf8', this.offset, end);
    // A character cut in the middle decodes as U+FFFD: it was not sent so.
    if (nul === -1) value = value.replace(/\uFFFD$/, '');
    this.offset = nul === -1 ? end : end + 1;
    return value;
  }

  int16(): number {
    if (this.left < 2) return 0;
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  uint32(): number {
    if (this.left < 4) return 0;
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A count, then the items that begin before the prefix ends. */
  list<T>(read: () => T): T[] {
    if (this.left < 2) return [];
    const count = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    const items: T[] = [];
    for (let i = 0; i < count && this.left > 0; i++) items.push(read());
    return items;
  }

  /** Int32 length (-1 = NULL) and the bytes of it that are there. */
  value(): Buffer | null {
    if (this.left < 4) {
      this.offset = this.buffer.length;
      return Buffer.alloc(0);
    }
    const length = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    if (length < 0) return null;
    const bytes = this.buffer.subarray(this.offset, Math.min(this.buffer.length, this.offset + length));
    this.offset += bytes.length;
    return bytes;
  }
}

type MessageParser = (reader: Reader) => FrontendMessage;

const parsers = new Map<number, MessageParser>([
  // Query: String sql
  [FrontendType.Query, (r) => done(r, { kind: 'Query', sql: r.cstring() })],
  // Parse: String statement, String sql, Int16 n, Int32 parameter type OID x n
  [
    FrontendType.Parse,
    (r) => {
      const statementName = r.cstring();
      const sql = r.cstring();
      const parameterTypes = repeat(r.uint16(), () => r.uint32());
      return done(r, { kind: 'Parse', statementName, sql, parameterTypes });
    },
  ],
  // Bind: String portal, String statement, Int16 n, Int16 format x n, Int16 m, value x m,
  // Int16 k, Int16 result format x k
  [
    FrontendType.Bind,
    (r) => {
      const portalName = r.cstring();
      const statementName = r.cstring();
      const parameterFormats = repeat(r.uint16(), () => r.int16());
      const parameters = repeat(r.uint16(), () => value(r));
      const resultFormats = repeat(r.uint16(), () => r.int16());
      return done(r, { kind: 'Bind', portalName, statementName, parameterFormats, parameters, resultFormats });
    },
  ],
  // Describe: Byte1 'S' | 'P', String name
  [FrontendType.Describe, (r) => done(r, { kind: 'Describe', target: target(r), name: r.cstring() })],
  // Execute: String portal, Int32 max rows (0 = no limit)
  [FrontendType.Execute, (r) => done(r, { kind: 'Execute', portalName: r.cstring(), maxRows: r.int32() })],
  // Close: Byte1 'S' | 'P', String name
  [FrontendType.Close, (r) => done(r, { kind: 'Close', target: target(r), name: r.cstring() })],
  [FrontendType.Sync, (r) => done(r, { kind: 'Sync' })],
  [FrontendType.Flush, (r) => done(r, { kind: 'Flush' })],
  [FrontendType.Terminate, (r) => done(r, { kind: 'Terminate' })],
  [FrontendType.CopyDone, (r) => done(r, { kind: 'CopyDone' })],
  // CopyData: Byte n data
  [FrontendType.CopyData, (r) => ({ kind: 'CopyData', data: r.rest() })],
  // CopyFail: String error message
  [FrontendType.CopyFail, (r) => done(r, { kind: 'CopyFail', message: r.cstring() })],
  // FunctionCall: Int32 function OID, Int16 n, Int16 format x n, Int16 m, value x m, Int16 result format
  [
    FrontendType.FunctionCall,
    (r) => {
      const functionOid = r.uint32();
      const argumentFormats = repeat(r.uint16(), () => r.int16());
      const args = repeat(r.uint16(), () => value(r));
      const resultFormat = r.int16();
      return done(r, { kind: 'FunctionCall', functionOid, argumentFormats, arguments: args, resultFormat });
    },
  ],
  // PasswordMessage: String password; SASLInitialResponse: String mechanism, Int32 n, Byte n;
  // SASLResponse: Byte n. Only the authentication exchange tells them apart.
  [FrontendType.PasswordMessage, (r) => ({ kind: 'PasswordMessage', data: r.rest() })],
]);

/** A parameter or argument value: Int32 length (-1 = NULL), then that many bytes. */
function value(r: Reader): Buffer | null {
  const length = r.int32();
  if (length === -1) return null;
  if (length < 0) throw r.violation(`has a value of invalid length ${length}`);
  return r.bytes(length);
}

function target(r: Reader): Target {
  const byte = r.byte();
  if (byte === 0x53) return 'S';
  if (byte === 0x50) return 'P';
  throw r.violation(`has invalid target ${quoteType(byte)}: expected 'S' (statement) or 'P' (portal)`);
}

function repeat<T>(count: number, read: () => T): T[] {
  const items: T[] = [];
  for (let i = 0; i < count; i++) items.push(read());
  return items;
}

function done(r: Reader, message: FrontendMessage): FrontendMessage {
  r.end();
  return message;
}

function kindOf(type: number): string {
  return Object.entries(FrontendType).find(([, code]) => code === type)?.[0] ?? 'unknown';
}

function quoteType(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}'` : `0x${byte.toString(16).padStart(2, '0')}`;
}
