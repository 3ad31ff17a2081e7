import { parseSpeed } from './play.js';

describe('tsh play --speed', () => {
  it.each([
    ['0.5x', 0.5],
    ['1x', 1],
    ['8x', 8],
    ['2', 2],
  ])('reads %s', (text, speed) => expect(parseSpeed(text)).toBe(speed));

  it.each(['fast', '0x', '-1x'])('refuses %s', (text) => expect(() => parseSpeed(text)).toThrow(/use 0.5x, 1x, 2x, 4x or 8x/));
});
