import { PassThrough, Duplex } from 'node:stream';
import { PgError, SimpleQueryClient, quoteIdent, quoteLiteral } from './simple-query.js';

// Backend messages as PostgreSQL sends them: type byte, int32 length (itself included), body.
function msg(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
const cstr = (s: string) => Buffer.from(`${s}\0`);
const int16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
// RowDescription: int16 count, then per field name, table oid, column, type oid, size, modifier, format.
const rowDescription = (...names: string[]) =>
  msg('T', int16(names.length), ...names.flatMap((n) => [cstr(n), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)]));
// DataRow: int16 count, then per value int32 length (-1 = NULL) and bytes.
const dataRow = (...values: Array<string | null>) =>
  msg('D', int16(values.length), ...values.flatMap((v) => (v === null ? [int32(-1)] : [int32(Buffer.byteLength(v)), Buffer.from(v)])));
const commandComplete = (tag: string) => msg('C', cstr(tag));
const readyForQuery = () => msg('Z', Buffer.from('I'));
const errorResponse = (code: string, message: string) =>
  msg('E', Buffer.from('S'), cstr('ERROR'), Buffer.from('C'), cstr(code), Buffer.from('M'), cstr(message), Buffer.from([0]));

/** A fake server: what the client writes goes to `sent`; `reply` pushes bytes to the client. */
function server() {
  const toClient = new PassThrough();
  const sent: Buffer[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      sent.push(chunk);
      done();
    },
  });
  toClient.on('data', (d: Buffer) => socket.push(d));
  return { socket, sent, reply: (...frames: Buffer[]) => toClient.write(Buffer.concat(frames)) };
}

describe('SimpleQueryClient', () => {
  it('sends a Query and resolves to the rows as text, nulls kept', async () => {
    const s = server();
    const client = new SimpleQueryClient(s.socket);
    const rows = client.query('SELECT 1');
    expect(s.sent[0]!.toString('latin1')).toBe('Q\0\0\0\rSELECT 1\0');
    s.reply(rowDescription('a', 'b'), dataRow('1', null), dataRow('2', 'x'), commandComplete('SELECT 2'), readyForQuery());
    await expect(rows).resolves.toEqual([
      { a: '1', b: null },
      { a: '2', b: 'x' },
    ]);
  });

  it('rejects with the ErrorResponse once ReadyForQuery arrives, and the next query still works', async () => {
    const s = server();
    const client = new SimpleQueryClient(s.socket);
    const failing = client.query('CREATE ROLE x');
    const next = client.query('SELECT 1');
    s.reply(errorResponse('42501', 'permission denied to create role'), readyForQuery());
    await expect(failing).rejects.toEqual(new PgError('42501', 'permission denied to create role'));
    await expect(failing).rejects.toMatchObject({ code: '42501' });
    s.reply(commandComplete('SELECT 0'), readyForQuery());
    await expect(next).resolves.toEqual([]);
  });

  it('fails pending queries when the connection closes', async () => {
    const s = server();
    const client = new SimpleQueryClient(s.socket);
    const pending = client.query('SELECT pg_sleep(10)');
    s.socket.destroy();
    await expect(pending).rejects.toThrow('the database closed the admin connection');
  });
});

describe('quoting', () => {
  it('doubles quotes in identifiers and literals', () => {
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteLiteral("o'brien")).toBe("'o''brien'");
    expect(quoteLiteral('a\\b')).toBe("E'a\\\\b'");
  });
});
