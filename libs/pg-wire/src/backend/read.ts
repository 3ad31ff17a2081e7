import { Reader } from '../reader.js';

// Command tags that end in a row count: "INSERT oid rows", "DELETE rows", "UPDATE rows", "MERGE rows",
// "SELECT rows" (also CREATE TABLE AS and SELECT INTO), "MOVE rows", "FETCH rows", "COPY rows".
const COUNTED = new Set(['INSERT', 'DELETE', 'UPDATE', 'MERGE', 'SELECT', 'MOVE', 'FETCH', 'COPY']);

/** CommandComplete: String tag. The row count is what Teleport audits as affected_records. */
export function parseCommandComplete(payload: Buffer): { tag: string; rowCount?: number } {
  const reader = new Reader(payload, 'CommandComplete message');
  const tag = reader.cstring();
  reader.end();
  const words = tag.split(' ');
  const last = words[words.length - 1] ?? '';
  if (words.length < 2 || !COUNTED.has(words[0] ?? '') || !/^\d+$/.test(last)) return { tag };
  return { tag, rowCount: Number(last) };
}

/**
 * ErrorResponse and NoticeResponse: (Byte1 field code, String value)* then Byte1 0. Fields by code
 * letter, e.g. S severity, V severity (not localized), C SQLSTATE, M message, D detail, H hint.
 */
export function parseErrorFields(payload: Buffer): Record<string, string> {
  const reader = new Reader(payload, 'error or notice message');
  const fields: Record<string, string> = {};
  for (let code = reader.byte(); code !== 0; code = reader.byte()) {
    fields[String.fromCharCode(code)] = reader.cstring();
  }
  reader.end();
  return fields;
}

export interface ColumnDescription {
  name: string;
  /** 0 text, 1 binary. */
  format: number;
}

/** RowDescription: Int16 count, then per column: name, table OID, attribute number, type OID, size, modifier, format. */
export function parseRowDescription(payload: Buffer): ColumnDescription[] {
  const reader = new Reader(payload, 'RowDescription message');
  const count = reader.uint16();
  const columns: ColumnDescription[] = [];
  for (let i = 0; i < count; i++) {
    const name = reader.cstring();
    reader.bytes(4 + 2 + 4 + 2 + 4);
    columns.push({ name, format: reader.int16() });
  }
  reader.end();
  return columns;
}

/** Marks a value cut to the recording's length. */
export const TRUNCATED = '…';

/**
 * DataRow: Int16 count, then per value Int32 length (-1 for NULL) and the bytes. Values come back as
 * text, at most `maxLength` characters (then `…`): text-format values as UTF-8, binary ones as `\x` hex.
 */
export function parseDataRow(payload: Buffer, formats: number[], maxLength: number): Array<string | null> {
  const reader = new Reader(payload, 'DataRow message');
  const count = reader.uint16();
  const values: Array<string | null> = [];
  for (let i = 0; i < count; i++) {
    const length = reader.int32();
    if (length === -1) {
      values.push(null);
      continue;
    }
    const bytes = reader.bytes(length);
    if (formats[i] === 1 || (formats.length === 1 && formats[0] === 1)) {
      const shown = bytes.subarray(0, Math.ceil(Math.max(0, maxLength - 2) / 2));
      values.push(`\\x${shown.toString('hex')}${shown.length < bytes.length ? TRUNCATED : ''}`);
    } else {
      // At most 4 bytes a character: never decode more than could be shown.
      const text = bytes.subarray(0, maxLength * 4).toString('utf8');
      const chars = Array.from(text);
      values.push(chars.length > maxLength || bytes.length > maxLength * 4 ? chars.slice(0, maxLength).join('') + TRUNCATED : text);
    }
  }
  reader.end();
  return values;
}
