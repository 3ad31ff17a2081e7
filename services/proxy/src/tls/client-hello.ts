import type { Socket } from 'node:net';
import { peek } from '../peek.js';

/** A TLS record's header: content type, version, length. */
const RECORD_HEADER = 5;
/** The largest record TLS allows (2^14 bytes of plaintext; a ClientHello is sent in the clear). */
const MAX_RECORD = 16_384;
const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const SERVER_NAME_EXTENSION = 0x0000;
const ALPN_EXTENSION = 0x0010;
const HOST_NAME = 0x00;

export interface ClientHelloInfo {
  /** The server name it asks for (SNI, RFC 6066), lower case. */
  serverName?: string;
  /** The application protocols it offers (ALPN, RFC 7301). */
  alpn: string[];
}

/**
 * What a ClientHello asks for, from the first TLS record: as much as the record holds of a well-formed
 * ClientHello (for anything else, the TLS handshake says what is wrong).
 */
export function clientHelloInfo(record: Buffer): ClientHelloInfo {
  const info: ClientHelloInfo = { alpn: [] };
  let at = 0;
  const need = (n: number) => {
    if (at + n > record.length) throw new RangeError('short');
  };
  const u8 = () => (need(1), record[at++]!);
  const u16 = () => (need(2), (at += 2), record.readUInt16BE(at - 2));
  const u24 = () => (need(3), (at += 3), record.readUIntBE(at - 3, 3));
  const skip = (n: number) => (need(n), (at += n));
  try {
    if (u8() !== HANDSHAKE) return info;
    skip(2);
    const recordEnd = Math.min(record.length, RECORD_HEADER + u16());
    if (u8() !== CLIENT_HELLO) return info;
    u24();
    skip(2 + 32); // client_version, random
    skip(u8()); // session_id
    skip(u16()); // cipher_suites
    skip(u8()); // compression_methods
    const extensionsEnd = Math.min(recordEnd, at + u16());
    while (at + 4 <= extensionsEnd) {
      const type = u16();
      const length = u16();
      const end = at + length;
      if (type === SERVER_NAME_EXTENSION) {
        const listEnd = at + u16();
        while (at + 3 <= listEnd) {
          const nameType = u8();
          const nameLength = u16();
          const name = record.subarray(at, skip(nameLength));
          if (nameType === HOST_NAME && info.serverName === undefined) info.serverName = name.toString('latin1').toLowerCase();
        }
      } else if (type === ALPN_EXTENSION) {
        const listEnd = at + u16();
        while (at + 1 <= listEnd) {
          const protocolLength = u8();
          info.alpn.push(record.subarray(at, skip(protocolLength)).toString('latin1'));
        }
      }
      if (end < at) throw new RangeError('overrun');
      need(end - at);
      at = end;
    }
  } catch {
    // A hello cut short by the record boundary: what came before it.
  }
  return info;
}

/**
 * Reads the first TLS record of `socket` (a ClientHello) without consuming it: it is put back for the
 * TLS server that answers. Bounded by TLS's record size; the connection's handshake deadline bounds
 * the wait (a socket destroyed then ends it).
 */
export function peekFirstRecord(socket: Socket): Promise<Buffer> {
  return peek(socket, (head) => (head.length < RECORD_HEADER ? RECORD_HEADER : RECORD_HEADER + Math.min(head.readUInt16BE(3), MAX_RECORD)));
}
