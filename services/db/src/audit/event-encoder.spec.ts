import type { SessionMetadata } from '#libs/events';
import { millisecondClock, SessionEventEncoder } from './event-encoder.js';

const meta: SessionMetadata = {
  cluster_name: 'root',
  sid: '307b49d6-56c7-4d20-8cf0-5bc5348a7101',
  user: 'alice',
  server_id: 'host-1',
  'addr.remote': '127.0.0.1:50000',
  db_service: 'example',
  db_protocol: 'postgres',
  db_uri: 'localhost:5432',
  db_name: 'test',
  db_user: 'alice',
  db_roles: ['access', 'dbá "quoted"'],
  db_type: 'self-hosted',
  db_origin: 'config',
  user_agent: 'psql',
};
const uid = 'a649d925-9dac-44cc-bd04-4387c295580f';
const time = '2023-10-06T10:58:32.880Z';

/** How events were serialized before: one merged object, stringified. */
const merged = (ei: number, event: string, code: string, fields: Record<string, unknown>) =>
  JSON.stringify({ ...meta, ei, event, uid, code, time, ...fields });

describe('SessionEventEncoder', () => {
  const encoder = new SessionEventEncoder(meta);

  it.each([
    ['db.session.start', 'TDB00I', { success: true }],
    ['db.session.query', 'TDB02I', { db_query: 'select \'ünïcødé 🍎\',\n\t"x" \\ \u0000 \u2028', success: true }],
    ['db.session.postgres.statements.bind', 'TPG01I', { statement_name: '', portal_name: '', parameters: ['7', null, 'AAEC/v8='] }],
    ['db.session.result', 'TDB10I', { affected_records: 3, success: true, result_columns: ['n'], result_rows: [['1'], [null]] }],
    ['db.session.end', 'TDB01I', { session_start: time, session_stop: time }],
    ['db.session.malformed_packet', 'TDB06I', {}],
    ['db.session.user.create', 'TDB08W', { username: 'alice', roles: ['r'], success: false, error: 'e', skipped: undefined }],
  ])('writes %s byte for byte as the merged object did', (event, code, fields) => {
    const encoded = encoder.encode(7, event, uid, code, time, fields);
    expect(encoded).toBe(merged(7, event, code, fields));
    expect(JSON.parse(encoded)).toEqual(JSON.parse(merged(7, event, code, fields)));
  });

  it('leaves user_agent out when the session has none', () => {
    const { user_agent: _, ...withoutAgent } = meta;
    const encoded = new SessionEventEncoder(withoutAgent).encode(0, 'db.session.start', uid, 'TDB00I', time, { success: true });
    expect(encoded).toBe(JSON.stringify({ ...withoutAgent, ei: 0, event: 'db.session.start', uid, code: 'TDB00I', time, success: true }));
  });
});

describe('millisecondClock', () => {
  it('formats RFC 3339 with milliseconds, once per millisecond', () => {
    let now = Date.parse(time);
    const clock = millisecondClock(() => now);
    const first = clock();
    expect(first).toBe(time);
    expect(clock()).toBe(first);
    now += 1;
    expect(clock()).toBe('2023-10-06T10:58:32.881Z');
  });
});
