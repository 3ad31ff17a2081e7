import { BadParameterError } from './errors.js';
import { formatByteSize, parseByteSize } from './size.js';

describe('parseByteSize', () => {
  it.each([
    ['1024', 1024],
    ['512MB', 512e6],
    ['1GiB', 1024 ** 3],
    ['2.5 GB', 2.5e9],
    ['10kib', 10240],
    [4096, 4096],
  ])('%s is %d bytes', (text, bytes) => expect(parseByteSize(text)).toBe(bytes));

  it.each(['', 'lots', '1XB', '-5MB', '0', 0, 1.5])('refuses %p with the units it accepts', (text) => {
    expect(() => parseByteSize(text)).toThrow(BadParameterError);
    expect(() => parseByteSize(text)).toThrow(/512MB or 1GiB/);
  });
});

describe('formatByteSize', () => {
  it.each([
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [1024 ** 3, '1 GiB'],
  ])('%d is %s', (bytes, text) => expect(formatByteSize(bytes)).toBe(text));
});
