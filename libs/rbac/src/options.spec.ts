import { createDbUserMode, DEFAULT_MAX_SESSION_TTL_MS, maxSessionTtlMs, resultRecording } from './options.js';
import { parseRole, type Role } from './role.js';

const role = (name: string, options: Record<string, unknown>, dbLabels: Record<string, string> = { '*': '*' }): Role =>
  parseRole({ kind: 'role', version: 'v7', metadata: { name }, spec: { options, allow: { db_labels: dbLabels } } });

describe('maxSessionTtlMs', () => {
  it('is 12h when no role sets max_session_ttl', () => {
    expect(maxSessionTtlMs([role('a', {}), role('b', {})])).toBe(12 * 3_600_000);
    expect(maxSessionTtlMs([])).toBe(DEFAULT_MAX_SESSION_TTL_MS);
  });

  it('is the shortest max_session_ttl among the roles', () => {
    const roles = [role('a', { max_session_ttl: '30h' }), role('b', {}), role('c', { max_session_ttl: '1h30m' })];
    expect(maxSessionTtlMs(roles)).toBe(90 * 60_000);
  });

  it('may exceed 12h when the only role that sets it says so', () => {
    expect(maxSessionTtlMs([role('a', { max_session_ttl: '30h' })])).toBe(30 * 3_600_000);
  });
});

describe('createDbUserMode', () => {
  it('is off when no role provisions', () => {
    expect(createDbUserMode([role('a', {}), role('b', { create_db_user_mode: 'off' })], {}, { env: 'prod' })).toBe('off');
  });

  it('takes the strongest mode among the roles whose labels match', () => {
    const roles = [
      role('keep', { create_db_user_mode: 'keep' }),
      role('drop-dev', { create_db_user_mode: 'best_effort_drop' }, { env: 'dev' }),
    ];
    expect(createDbUserMode(roles, {}, { env: 'prod' })).toBe('keep');
    expect(createDbUserMode(roles, {}, { env: 'dev' })).toBe('best_effort_drop');
  });

  it('applies traits to the labels', () => {
    const roles = [role('team', { create_db_user_mode: 'keep' }, { team: '{{external.team}}' })];
    expect(createDbUserMode(roles, { team: ['payments'] }, { team: 'payments' })).toBe('keep');
    expect(createDbUserMode(roles, {}, { team: 'payments' })).toBe('off');
  });
});

describe('resultRecording', () => {
  it('is off unless a role asks for it', () => {
    expect(resultRecording([role('a', {}), role('b', { create_db_user_mode: 'keep' })])).toBeUndefined();
  });

  it('records the most rows and the longest values any role asks for, 256 characters by default', () => {
    const roles = [
      role('a', { record_query_results: { max_rows: 5 } }),
      role('b', { record_query_results: { max_rows: 2, max_value_length: 1000 } }),
    ];
    expect(resultRecording(roles)).toEqual({ max_rows: 5, max_value_length: 1000 });
    expect(resultRecording([roles[0]!])).toEqual({ max_rows: 5, max_value_length: 256 });
  });

  it('refuses a role that would record unbounded results', () => {
    expect(() => role('a', { record_query_results: { max_rows: 100_000 } })).toThrow(/at most 1000 rows per result are recorded/);
    expect(() => role('a', { record_query_results: {} })).toThrow(/spec\.options\.record_query_results\.max_rows: required/);
  });
});
