import { trimToMaxSize } from './audit-trim.js';

const base = { sid: 's', event: 'db.session.query', uid: 'u', ei: 3, db_user: 'alice', success: true };

describe('trimToMaxSize', () => {
  it('shortens only what the user sent, so the event fits', () => {
    const record = { ...base, db_query: 'x'.repeat(50_000), parameters: ['y'.repeat(50_000), null, 'short'] };
    const trimmed = trimToMaxSize(record, 10_000);
    expect(Buffer.byteLength(JSON.stringify(trimmed))).toBeLessThanOrEqual(10_000);
    expect(trimmed).toMatchObject({ ...base });
    expect((trimmed.db_query as string).length).toBeGreaterThan(1000);
    expect((trimmed.parameters as unknown[])[1]).toBeNull();
    expect((trimmed.parameters as string[])[2]).toBe('short');
  });

  it('never splits a surrogate pair', () => {
    const trimmed = trimToMaxSize({ ...base, db_query: '😀'.repeat(10_000) }, 2_000);
    expect(trimmed.db_query as string).not.toMatch(/[\ud800-\udbff]$/);
    expect(Buffer.byteLength(JSON.stringify(trimmed))).toBeLessThanOrEqual(2_000);
  });

  it('drops recorded result rows before anything else', () => {
    const rows = Array.from({ length: 100 }, (_, i) => [String(i), 'v'.repeat(500)]);
    const record = { ...base, event: 'db.session.result', result_columns: ['n', 'v'], result_rows: rows, result_rows_truncated: false };
    const trimmed = trimToMaxSize(record, 10_000);
    expect(Buffer.byteLength(JSON.stringify(trimmed))).toBeLessThanOrEqual(10_000);
    expect((trimmed.result_rows as unknown[]).length).toBeGreaterThan(0);
    expect(trimmed.result_rows).toEqual(rows.slice(0, (trimmed.result_rows as unknown[]).length));
    expect(trimmed).toMatchObject({ result_rows_truncated: true, result_columns: ['n', 'v'] });
  });
});
