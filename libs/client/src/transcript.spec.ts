import { humanTime, playbackDelay, Transcript } from './transcript.js';

const db = { db_name: 'test', db_service: 'my-pg' };
const q = (sql: string) => ({ ...db, event: 'db.session.query', db_query: sql });
const ok = (n: number) => ({ event: 'db.session.result', success: true, affected_records: n });

function play(events: Array<Record<string, unknown>>, nl: '\n' | '\r\n' = '\r\n'): Array<string | undefined> {
  const t = new Transcript(nl);
  return events.map((e) => t.print(e));
}

describe('Transcript', () => {
  it('frames the session with its start and end', () => {
    expect(
      play([
        { ...db, event: 'db.session.start', success: true, time: '2026-11-01T09:05:00.000Z' },
        { event: 'db.session.end', time: '2026-11-01T10:58:32.880Z' },
      ]),
    ).toEqual(['Session started to database "my-pg" at Sun Nov  1 09:05 UTC\r\n', '\r\nSession ended at Sun Nov  1 10:58 UTC\r\n']);
  });

  it('shows each query at the prompt, then SUCCESS and the row count', () => {
    expect(play([q('SELECT 1;'), ok(1), q('SELECT * from events;'), ok(15)])).toEqual([
      '\r\ntest=> SELECT 1;\r\n',
      'SUCCESS\r\n(1 row affected)\r\n',
      '\r\ntest=> SELECT * from events;\r\n',
      'SUCCESS\r\n(15 rows affected)\r\n',
    ]);
  });

  it('shows the error of a failed query', () => {
    expect(play([q('SELECT err;'), { event: 'db.session.result', success: false, error: 'ERROR: column error' }])).toEqual([
      '\r\ntest=> SELECT err;\r\n',
      'ERROR: column error\r\n',
    ]);
  });

  it('indents continuation lines to the prompt', () => {
    expect(play([q('SELECT *\r\nfrom events\t\r\n    limit 1;')], '\n')).toEqual([
      '\ntest=> SELECT *\n       from events\n       limit 1;\n',
    ]);
  });

  it('shows prepared statements with their parameters at execution, per portal', () => {
    const parse = { ...db, event: 'db.session.postgres.statements.parse', statement_name: 's', query: "SELECT $1::varchar || ' ' || $2" };
    const bind = (portal: string, params: string[]) => ({
      ...db,
      event: 'db.session.postgres.statements.bind',
      statement_name: 's',
      portal_name: portal,
      parameters: params,
    });
    const exec = (portal: string) => ({ ...db, event: 'db.session.postgres.statements.execute', portal_name: portal });
    expect(play([parse, bind('p1', ['hello', 'first']), bind('', ['a "quoted"', 'x']), exec(''), ok(1), exec('p1'), ok(1)])).toEqual([
      undefined,
      undefined,
      undefined,
      `\r\ntest=> SELECT $1::varchar || ' ' || $2 ($1 = "a \\"quoted\\"", $2 = "x")\r\n`,
      'SUCCESS\r\n(1 row affected)\r\n',
      `\r\ntest=> SELECT $1::varchar || ' ' || $2 ($1 = "hello", $2 = "first")\r\n`,
      'SUCCESS\r\n(1 row affected)\r\n',
    ]);
  });

  it('names an unknown statement, and skips executions and results it cannot place', () => {
    const bind = { ...db, event: 'db.session.postgres.statements.bind', statement_name: 'random', portal_name: '', parameters: ['v'] };
    const exec = { ...db, event: 'db.session.postgres.statements.execute', portal_name: '' };
    expect(play([ok(1), { ...exec, portal_name: 'nowhere' }, ok(1), bind, exec, ok(1)])).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      '\r\ntest=> EXECUTE random ($1 = "v")\r\n',
      'SUCCESS\r\n(1 row affected)\r\n',
    ]);
  });

  it('shows recorded rows between SUCCESS and the count', () => {
    const result = {
      ...ok(3),
      result_columns: ['id', 'name'],
      result_rows: [
        ['1', 'ünï'],
        ['22', null],
      ],
      result_rows_truncated: true,
    };
    expect(play([q('select * from t;'), result], '\n')[1]).toBe(
      'SUCCESS\n id | name\n----+------\n 1  | ünï\n 22 |\n(first 2 rows recorded)\n(3 rows affected)\n',
    );
  });

  it('says why a refused session never started', () => {
    expect(
      play([{ ...db, event: 'db.session.start', success: false, time: '2026-11-21T10:00:00Z', message: 'access to db denied.' }], '\n'),
    ).toEqual(['Session to database "my-pg" refused at Sat Nov 21 10:00 UTC: access to db denied.\n']);
  });

  it('formats times as Teleport does', () => expect(humanTime('2023-10-06T10:58:32.88Z')).toBe('Fri Oct  6 10:58 UTC'));
});

describe('playback timing', () => {
  it('scales gaps by the speed and caps idle ones when asked', () => {
    expect(playbackDelay(3_000, 2, false)).toBe(1_500);
    expect(playbackDelay(60_000, 1, true)).toBe(1_000);
    expect(playbackDelay(400, 1, true)).toBe(400);
    expect(playbackDelay(-5, 1, false)).toBe(0);
  });
});
