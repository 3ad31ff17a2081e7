import { BadParameterError } from '#libs/common';
import { lockExpiry } from './lock.js';

const NOW = new Date('2030-01-01T00:00:00.000Z');

describe('lockExpiry', () => {
  it('is none without --expires or --ttl: the lock stays until tctl rm', () => {
    expect(lockExpiry(undefined, undefined, NOW)).toBeUndefined();
  });

  it('counts --ttl from now', () => {
    expect(lockExpiry(undefined, '10h', NOW)).toBe('2030-01-01T10:00:00.000Z');
    expect(lockExpiry(undefined, '2s', NOW)).toBe('2030-01-01T00:00:02.000Z');
  });

  it('takes --expires as RFC 3339, in UTC', () => {
    expect(lockExpiry('2030-01-02T15:04:05+01:00', undefined, NOW)).toBe('2030-01-02T14:04:05.000Z');
  });

  it('refuses both, a time that is not RFC 3339, and a ttl without unit', () => {
    expect(() => lockExpiry('2030-01-02T15:04:05Z', '1h', NOW)).toThrow(new BadParameterError('use only one of --expires and --ttl'));
    expect(() => lockExpiry('tomorrow', undefined, NOW)).toThrow(/invalid --expires "tomorrow": use an RFC 3339 time/);
    expect(() => lockExpiry('2030-01-02', undefined, NOW)).toThrow(/invalid --expires/);
    expect(() => lockExpiry(undefined, '10', NOW)).toThrow(/invalid duration "10"/);
  });
});
