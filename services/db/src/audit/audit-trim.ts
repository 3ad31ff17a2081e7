/** An audit event as an object: what trimming works on. */
export interface AuditRecord {
  sid: string;
  event: string;
  uid: string;
  [field: string]: unknown;
}

/** What the user sent: the only fields shortened when an event is too big to store, as Teleport's TrimToMaxSize does. */
const USER_INPUT = ['db_query', 'db_query_parameters', 'query', 'parameters', 'function_args', 'error', 'message'];

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** The longest prefix of `s` whose JSON form fits in `maxBytes`. */
function trimString(s: string, maxBytes: number): string {
  let t = s.length > maxBytes ? s.slice(0, Math.max(0, maxBytes)) : s;
  for (let size = jsonBytes(t); size > maxBytes && t.length > 0; size = jsonBytes(t)) {
    t = t.slice(0, Math.min(t.length - 1, Math.floor((t.length * maxBytes) / size)));
  }
  // Never half a surrogate pair.
  return t !== s && /[\ud800-\udbff]$/.test(t) ? t.slice(0, -1) : t;
}

/**
 * An event that fits in one NATS message of `maxBytes`: if it is bigger, the user-input strings share
 * what is left after the other fields and a 10% margin, each cut to its share (Teleport's TrimToMaxSize).
 */
export function trimToMaxSize(original: AuditRecord, maxBytes: number): AuditRecord {
  const record = dropRecordedRows(original, maxBytes);
  if (jsonBytes(record) <= maxBytes) return record;
  const out: AuditRecord = { ...record };
  let strings = 0;
  for (const field of USER_INPUT) {
    const value = out[field];
    if (typeof value === 'string') {
      out[field] = '';
      if (value) strings++;
    } else if (Array.isArray(value)) {
      out[field] = value.map((v: unknown) => (typeof v === 'string' ? '' : v));
      strings += value.filter((v: unknown) => typeof v === 'string' && v !== '').length;
    }
  }
  const share = Math.floor((maxBytes - Math.floor(maxBytes / 10) - jsonBytes(out)) / Math.max(1, strings));
  if (share <= 2) return out;
  for (const field of USER_INPUT) {
    const value = record[field];
    if (typeof value === 'string') out[field] = trimString(value, share);
    else if (Array.isArray(value)) out[field] = value.map((v: unknown) => (typeof v === 'string' ? trimString(v, share) : v));
  }
  return out;
}

/** Recorded result rows (beyond Teleport) go first, half at a time: the statement matters more than its output. */
function dropRecordedRows(record: AuditRecord, maxBytes: number): AuditRecord {
  const rows = record.result_rows;
  if (!Array.isArray(rows)) return record;
  let out = record;
  for (let kept = rows.length; jsonBytes(out) > maxBytes - Math.floor(maxBytes / 10) && kept > 0;) {
    kept = Math.floor(kept / 2);
    out = { ...record, result_rows: rows.slice(0, kept), result_rows_truncated: true };
  }
  return out;
}
