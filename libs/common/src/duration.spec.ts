import { BadParameterError } from './errors.js';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['30m', 30 * 60_000],
    ['2190h', 2190 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['90s', 90_000],
    ['500ms', 500],
    ['1.5h', 90 * 60_000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', 'h', '10x', '1h 30m', '-5m'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(BadParameterError);
  });
});

describe('formatDuration', () => {
  it.each([
    [3_600_000, '1h'],
    [90 * 60_000, '1h30m'],
    [12 * 3_600_000, '12h'],
    [45_000, '45s'],
  ])('%d', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
