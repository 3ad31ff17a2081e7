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
