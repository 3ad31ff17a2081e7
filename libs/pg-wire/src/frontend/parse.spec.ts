import fc from 'fast-check';
import { ProtocolViolationError } from '../errors.js';
import { BufferList, splitMessage } from '../testing/buffer-list.js';
import { FrontendType, type FrontendMessage } from './messages.js';
import { parseFrontendMessage, parseFrontendPrefix } from './parse.js';

const parse = (message: Buffer) => {
  const { type, payload } = splitMessage(message);
  return parseFrontendMessage(type, payload);
};
const fields = () => new BufferList();

describe('parseFrontendMessage', () => {
  it.each<[string, Buffer, FrontendMessage]>([
    ['Query', fields().cstring('select 1').message('Q'), { kind: 'Query', sql: 'select 1' }],
    [
      'Parse',
      fields().cstring('s1').cstring('select $1, $2').int16(2).int32(23).int32(0xfffffffe).message('P'),
      { kind: 'Parse', statementName: 's1', sql: 'select $1, $2', parameterTypes: [23, 0xfffffffe] },
    ],
    [
      'Bind',
      fields()
        .cstring('p1')
        .cstring('s1')
        .int16(2)
        .int16(0)
        .int16(1)
        .int16(3)
        .int32(2)
        .add(Buffer.from('42'))
        .int32(-1)
        .int32(0)
        .int16(1)
        .int16(1)
        .message('B'),
      {
        kind: 'Bind',
        portalName: 'p1',
        statementName: 's1',
        parameterFormats: [0, 1],
        parameters: [Buffer.from('42'), null, Buffer.alloc(0)],
        resultFormats: [1],
      },
    ],
    ['Describe a statement', fields().char('S').cstring('s1').message('D'), { kind: 'Describe', target: 'S', name: 's1' }],
    ['Describe a portal', fields().char('P').cstring('').message('D'), { kind: 'Describe', target: 'P', name: '' }],
    ['Execute', fields().cstring('p1').int32(100).message('E'), { kind: 'Execute', portalName: 'p1', maxRows: 100 }],
    ['Close', fields().char('P').cstring('p1').message('C'), { kind: 'Close', target: 'P', name: 'p1' }],
    ['Sync', fields().message('S'), { kind: 'Sync' }],
    ['Flush', fields().message('H'), { kind: 'Flush' }],
    ['Terminate', fields().message('X'), { kind: 'Terminate' }],
    ['CopyDone', fields().message('c'), { kind: 'CopyDone' }],
    ['CopyData', fields().add(Buffer.from('1\tone\n')).message('d'), { kind: 'CopyData', data: Buffer.from('1\tone\n') }],
    ['CopyFail', fields().cstring('aborted').message('f'), { kind: 'CopyFail', message: 'aborted' }],
    [
      'FunctionCall',
      fields().int32(1598).int16(1).int16(1).int16(2).int32(1).byte(7).int32(-1).int16(1).message('F'),
      { kind: 'FunctionCall', functionOid: 1598, argumentFormats: [1], arguments: [Buffer.from([7]), null], resultFormat: 1 },
    ],
    ['PasswordMessage', fields().cstring('secret').message('p'), { kind: 'PasswordMessage', data: Buffer.from('secret\0') }],
    [
      'SASLInitialResponse as PasswordMessage',
      fields().cstring('SCRAM-SHA-256').int32(3).add(Buffer.from('n,,')).message('p'),
      { kind: 'PasswordMessage', data: fields().cstring('SCRAM-SHA-256').int32(3).add(Buffer.from('n,,')).payload() },
    ],
  ])('reads %s', (_name, message, expected) => expect(parse(message)).toEqual(expected));

  it('has a type byte for every message kind', () => {
    expect(Object.keys(FrontendType).sort()).toEqual(
      [
        'Bind',
        'Close',
        'CopyData',
        'CopyDone',
        'CopyFail',
        'Describe',
        'Execute',
        'Flush',
        'FunctionCall',
        'Parse',
        'PasswordMessage',
        'Query',
        'Sync',
        'Terminate',
      ].sort(),
    );
  });

  it.each<[string, Buffer, RegExp]>([
    ['an unknown type byte', fields().message('z'), /invalid frontend message type 122 \('z'\)/],
    ['a Query without its NUL', fields().add(Buffer.from('select 1')).message('Q'), /Query message has a string without its NUL/],
    ['a Query with trailing bytes', fields().cstring('select 1').byte(0).message('Q'), /Query message has 1 unexpected bytes/],
    ['a Sync with a payload', fields().byte(0).message('S'), /Sync message has 1 unexpected bytes/],
    ['a Describe of an unknown target', fields().char('X').cstring('s1').message('D'), /invalid target 'X'/],
    ['a truncated Execute', fields().cstring('').int16(0).message('E'), /Execute message is truncated/],
    ['a Bind value longer than the message', fields().cstring('').cstring('').int16(0).int16(1).int32(10).message('B'), /truncated/],
    ['a Bind value of length -2', fields().cstring('').cstring('').int16(0).int16(1).int32(-2).message('B'), /invalid length -2/],
    ['a Parse announcing more types than it has', fields().cstring('').cstring('').int16(3).int32(23).message('P'), /truncated/],
  ])('refuses %s', (_name, message, pattern) => {
    expect(() => parse(message)).toThrow(ProtocolViolationError);
    expect(() => parse(message)).toThrow(pattern);
  });

  it('throws nothing but ProtocolViolationError on random payloads', () => {
    const types = fc.oneof(fc.constantFrom(...Object.values(FrontendType)), fc.integer({ min: 0, max: 255 }));
    const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constant(0));
    fc.assert(
      fc.property(types, fc.array(byte, { maxLength: 60 }), (type, bytes) => {
        try {
          parseFrontendMessage(type, Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolViolationError);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('parseFrontendPrefix', () => {
  const prefix = (message: Buffer, keep: number) => {
    const { type, payload } = splitMessage(message);
    return parseFrontendPrefix(type, payload.subarray(0, keep));
  };

  it('reads a Query cut in its text, never half a character', () => {
    expect(prefix(fields().cstring('select 1').message('Q'), 6)).toEqual({ kind: 'Query', sql: 'select' });
    // 'é' is two bytes: cut after the first, it is left out.
    expect(prefix(fields().cstring('select é').message('Q'), 8)).toEqual({ kind: 'Query', sql: 'select ' });
  });

  it('reads a Parse cut in its statement', () => {
    const parse = fields().cstring('s1').cstring('select $1').int16(1).int32(23).message('P');
    expect(prefix(parse, 9)).toEqual({ kind: 'Parse', statementName: 's1', sql: 'select', parameterTypes: [] });
  });

  it('reads a Bind cut in a value: the values before it whole, that one as far as it goes', () => {
    const bind = fields()
      .cstring('')
      .cstring('s1')
      .int16(0)
      .int16(3)
      .int32(2)
      .add(Buffer.from('ab'))
      .int32(-1)
      .int32(5)
      .add(Buffer.from('hello'))
      .int16(0)
      .message('B');
    expect(prefix(bind, 4 + 2 + 2 + 4 + 2 + 4 + 4 + 3)).toEqual({
      kind: 'Bind',
      portalName: '',
      statementName: 's1',
      parameterFormats: [],
      parameters: [Buffer.from('ab'), null, Buffer.from('hel')],
      resultFormats: [],
    });
  });

  it('reads a FunctionCall cut in its arguments', () => {
    const call = fields().int32(1598).int16(0).int16(1).int32(4).add(Buffer.from('abcd')).int16(0).message('F');
    expect(prefix(call, 4 + 2 + 2 + 4 + 2)).toEqual({
      kind: 'FunctionCall',
      functionOid: 1598,
      argumentFormats: [],
      arguments: [Buffer.from('ab')],
      resultFormat: 0,
    });
  });

  it('has nothing to say of the small message types', () => {
    expect(prefix(fields().cstring('').int32(0).message('E'), 1)).toBeUndefined();
  });
});
