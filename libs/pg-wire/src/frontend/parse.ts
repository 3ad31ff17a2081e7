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
