import { BadParameterError } from '#libs/common';
import { parseWorkers } from './start.js';

describe('--workers', () => {
  it('takes a whole number of processes from 1 to 64', () => {
    expect(['1', '2', '64', ' 8 '].map(parseWorkers)).toEqual([1, 2, 64, 8]);
  });

  it.each(['0', '65', '1.5', 'two', '', '-1', '0x2'])('refuses %p, saying what it takes', (text) => {
    expect(() => parseWorkers(text)).toThrow(BadParameterError);
    expect(() => parseWorkers(text)).toThrow(/from 1 to 64/);
  });
});
