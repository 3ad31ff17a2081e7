import { ProtocolViolationError } from '../errors.js';
import { Reader } from '../reader.js';

/** A frame of the startup phase, sent by the client before any message with a type byte. */
export type StartupFrame =
  | { kind: 'StartupMessage'; protocolVersion: number; parameters: Record<string, string> }
  | { kind: 'SSLRequest' }
  | { kind: 'GSSENCRequest' }
  | { kind: 'CancelRequest'; processId: number; secretKey: number };

// Codes are Int32 with the major version in the high 16 bits and the minor in the low 16 bits.
export const StartupCode = {
  /** 3.0; a client may ask for a later 3.x minor, which the server answers with NegotiateProtocolVersion. */
  Protocol3: 196608,
  /** 1234.5678 */
  CancelRequest: 80877102,
  /** 1234.5679 */
  SSLRequest: 80877103,
  /** 1234.5680 */
  GSSENCRequest: 80877104,
} as const;

/** The payload of a startup frame: everything after its Int32 length. */
export function parseStartupFrame(payload: Buffer): StartupFrame {
  const reader = new Reader(payload, 'startup packet');
  const code = reader.int32();
  switch (code) {
    case StartupCode.SSLRequest:
      // SSLRequest: Int32 8, Int32 80877103
      reader.end();
      return { kind: 'SSLRequest' };
    case StartupCode.GSSENCRequest:
      // GSSENCRequest: Int32 8, Int32 80877104
      reader.end();
      return { kind: 'GSSENCRequest' };
    case StartupCode.CancelRequest: {
      // CancelRequest: Int32 16, Int32 80877102, Int32 process ID, Int32 secret key
      const processId = reader.int32();
      const secretKey = reader.int32();
      reader.end();
      return { kind: 'CancelRequest', processId, secretKey };
    }
  }
  if (code >>> 16 !== StartupCode.Protocol3 >>> 16) {
    throw new ProtocolViolationError(
      `unsupported frontend protocol ${code >>> 16}.${code & 0xffff}: only protocol 3 is supported; use a client that speaks it`,
    );
  }
  return { kind: 'StartupMessage', protocolVersion: code, parameters: readParameters(reader) };
}

// StartupMessage after the version: pairs of String name, String value, then a lone NUL.
function readParameters(reader: Reader): Record<string, string> {
  const entries: Array<[string, string]> = [];
  for (;;) {
    const name = reader.cstring();
    if (name === '') break;
    entries.push([name, reader.cstring()]);
  }
  reader.end();
  // fromEntries defines own properties, so a parameter named "__proto__" is kept like any other;
  // a repeated name keeps its last value, as the server does.
  return Object.fromEntries(entries);
}
