import { BadParameterError } from '#libs/common';
import { BackendType } from './types.js';

/** The fields of an ErrorResponse or NoticeResponse that the proxy itself sends. */
export interface ErrorFields {
  severity: 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'INFO' | 'LOG';
  /** SQLSTATE, five digits or upper-case letters, e.g. "28000". */
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** ReadyForQuery status: idle, in a transaction block, in a failed transaction block. */
export type TransactionStatus = 'I' | 'T' | 'E';

// Authentication ('R') subtypes: the Int32 after the length.
const AUTH_OK = 0;
const AUTH_CLEARTEXT_PASSWORD = 3;

/** Server messages the proxy writes to clients; each returns one complete message. */
export const backend = {
  // AuthenticationOk: 'R', Int32 8, Int32 0
  authenticationOk: (): Buffer => message(BackendType.Authentication, int32(AUTH_OK, 'code')),
  // AuthenticationCleartextPassword: 'R', Int32 8, Int32 3
  authenticationCleartextPassword: (): Buffer => message(BackendType.Authentication, int32(AUTH_CLEARTEXT_PASSWORD, 'code')),
  // BackendKeyData: 'K', Int32 12, Int32 process ID, Int32 secret key
  backendKeyData: (processId: number, secretKey: number): Buffer =>
    message(BackendType.BackendKeyData, int32(processId, 'process ID'), int32(secretKey, 'secret key')),
  // ParameterStatus: 'S', Int32 length, String name, String value
  parameterStatus: (name: string, value: string): Buffer =>
    message(BackendType.ParameterStatus, cstring(name, 'parameter name'), cstring(value, 'parameter value')),
  // ReadyForQuery: 'Z', Int32 5, Byte1 status
  readyForQuery: (status: TransactionStatus): Buffer => message(BackendType.ReadyForQuery, Buffer.from(status, 'latin1')),
  // ErrorResponse: 'E', Int32 length, (Byte1 field code, String value)*, Byte1 0
  errorResponse: (fields: ErrorFields): Buffer => message(BackendType.ErrorResponse, errorFields(fields)),
  // NoticeResponse: 'N', same body as ErrorResponse
  noticeResponse: (fields: ErrorFields): Buffer => message(BackendType.NoticeResponse, errorFields(fields)),
  // The answer to SSLRequest (and to GSSENCRequest) is one unframed byte: 'S' to go on with TLS, 'N' not.
  sslAnswer: (accept: boolean): Buffer => Buffer.from(accept ? 'S' : 'N', 'latin1'),
};

// 'S' is the severity as the client may see it localized, 'V' the same never localized (9.6+).
// Then 'C' SQLSTATE, 'M' message, 'D' detail, 'H' hint.
function errorFields(fields: ErrorFields): Buffer {
  if (!/^[0-9A-Z]{5}$/.test(fields.code)) {
    throw new BadParameterError(`SQLSTATE "${fields.code}" is not five digits or upper-case letters`);
  }
  const entries: Array<[string, string, string | undefined]> = [
    ['S', 'severity', fields.severity],
    ['V', 'severity', fields.severity],
    ['C', 'SQLSTATE', fields.code],
    ['M', 'message', fields.message],
    ['D', 'detail', fields.detail],
    ['H', 'hint', fields.hint],
  ];
  const parts = entries.flatMap(([code, name, value]) =>
    value === undefined ? [] : [Buffer.from(code, 'latin1'), cstring(value, `error ${name}`)],
  );
  return Buffer.concat([...parts, Buffer.alloc(1)]);
}

function message(type: number, ...body: Buffer[]): Buffer {
  const length = body.reduce((sum, part) => sum + part.length, 4);
  const header = Buffer.alloc(5);
  header[0] = type;
  header.writeUInt32BE(length, 1);
  return Buffer.concat([header, ...body], 1 + length);
}

function int32(value: number, what: string): Buffer {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new BadParameterError(`${what} ${value} is not a 32-bit signed integer`);
  }
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
}

// A String on the wire ends at its first NUL, so a NUL inside would cut it and forge what follows.
function cstring(value: string, what: string): Buffer {
  if (value.includes('\0')) throw new BadParameterError(`${what} contains a NUL character, which the protocol cannot carry`);
  return Buffer.from(`${value}\0`, 'utf8');
}
