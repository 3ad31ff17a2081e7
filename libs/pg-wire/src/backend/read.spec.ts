import fc from 'fast-check';
import { ProtocolViolationError } from '../errors.js';
import { BufferList } from '../testing/buffer-list.js';
import { parseCommandComplete, parseDataRow, parseErrorFields, parseRowDescription } from './read.js';

const tag = (text: string) => new BufferList().cstring(text).payload();

describe('parseCommandComplete', () => {
  it.each<[string, number | undefined]>([
    ['INSERT 0 5', 5],
    ['UPDATE 3', 3],
    ['DELETE 0', 0],
    ['MERGE 2', 2],
    ['SELECT 10', 10],
    ['MOVE 4', 4],
    ['FETCH 1', 1],
    ['COPY 7', 7],
    ['CREATE TABLE', undefined],
    ['BEGIN', undefined],
    ['SELECT', undefined],
    ['DISCARD ALL', undefined],
  ])('reads %s', (text, rowCount) => {
    expect(parseCommandComplete(tag(text))).toEqual(rowCount === undefined ? { tag: text } : { tag: text, rowCount });
  });

  it('refuses a tag without its NUL', () => expect(() => parseCommandComplete(Buffer.from('SELECT 1'))).toThrow(ProtocolViolationError));
});

describe('parseErrorFields', () => {
  it('reads fields by code letter', () => {
    const payload = new BufferList()
      .char('S')
      .cstring('ERROR')
      .char('C')
      .cstring('42P01')
      .char('M')
      .cstring('no such table')
      .byte(0)
      .payload();
    expect(parseErrorFields(payload)).toEqual({ S: 'ERROR', C: '42P01', M: 'no such table' });
  });

  it.each<[string, Buffer]>([
    ['no terminator', new BufferList().char('S').cstring('ERROR').payload()],
    ['a value without its NUL', new BufferList().char('S').add(Buffer.from('ERROR')).payload()],
    ['bytes after the terminator', new BufferList().byte(0).byte(0).payload()],
  ])('refuses %s', (_name, payload) => expect(() => parseErrorFields(payload)).toThrow(ProtocolViolationError));

  it('throws nothing but ProtocolViolationError on random payloads', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        for (const parse of [parseErrorFields, parseCommandComplete]) {
          try {
            parse(Buffer.from(bytes));
          } catch (err) {
            expect(err).toBeInstanceOf(ProtocolViolationError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseRowDescription', () => {
  it('reads column names and formats', () => {
    const payload = new BufferList().int16(2);
    for (const [name, format] of [
      ['id', 0],
      ['blob', 1],
    ] as const)
      payload.cstring(name).int32(16384).int16(1).int32(23).int16(4).int32(-1).int16(format);
    expect(parseRowDescription(payload.payload())).toEqual([
      { name: 'id', format: 0 },
      { name: 'blob', format: 1 },
    ]);
  });

  it('refuses a truncated description', () => {
    expect(() => parseRowDescription(new BufferList().int16(1).cstring('id').int32(1).payload())).toThrow(ProtocolViolationError);
  });
});

describe('parseDataRow', () => {
  const row = (...values: Array<Buffer | null>) => {
    const list = new BufferList().int16(values.length);
    for (const v of values)
      if (v === null) list.int32(-1);
      else list.int32(v.length).add(v);
    return list.payload();
  };

  it('reads text values and NULLs', () => {
    expect(parseDataRow(row(Buffer.from('42'), null, Buffer.from('ünï')), [0, 0, 0], 100)).toEqual(['42', null, 'ünï']);
  });

  it('cuts long values to the limit in characters, never mid-character', () => {
    expect(parseDataRow(row(Buffer.from('ééééé')), [0], 3)).toEqual(['ééé…']);
    expect(parseDataRow(row(Buffer.from('x'.repeat(10_000))), [0], 5)).toEqual(['xxxxx…']);
  });

  it('shows binary values as hex, one format code applying to all', () => {
    expect(parseDataRow(row(Buffer.from([1, 2, 255]), Buffer.from([0])), [1], 100)).toEqual(['\\x0102ff', '\\x00']);
    expect(parseDataRow(row(Buffer.alloc(100)), [1], 6)).toEqual(['\\x0000…']);
  });
});
