import fc from 'fast-check';
import { ProtocolViolationError } from '../errors.js';
import { BufferList } from '../testing/buffer-list.js';
import { parseCommandComplete, parseErrorFields } from './read.js';

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
