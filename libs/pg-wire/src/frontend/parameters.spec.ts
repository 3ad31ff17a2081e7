import { formatParameters } from './parameters.js';

const text = (s: string) => Buffer.from(s);
const binary = Buffer.from([0xde, 0xad, 0xbe, 0xef]);

describe('formatParameters', () => {
  it('writes text as the string and binary as base64', () => {
    expect(formatParameters([0, 1], [text('42'), binary])).toEqual(['42', '3q2+7w==']);
  });

  it('reads no format codes as all text', () => expect(formatParameters([], [text('a'), text('b')])).toEqual(['a', 'b']));

  it('applies a single format code to every value', () => {
    expect(formatParameters([1], [binary, binary])).toEqual(['3q2+7w==', '3q2+7w==']);
  });

  it('keeps NULL as null', () => expect(formatParameters([1, 0], [null, null])).toEqual([null, null]));

  it('writes <unknown> for another format code', () => expect(formatParameters([2], [text('x')])).toEqual(['<unknown>']));

  it('writes <unknown> for a value without a code of its own', () => {
    expect(formatParameters([0, 0], [text('a'), text('b'), text('c')])).toEqual(['a', 'b', '<unknown>']);
  });

  it('gives nothing for no values', () => expect(formatParameters([0], [])).toEqual([]));
});
