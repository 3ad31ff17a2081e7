import { isTransient, withRetries } from './retry.js';
import { PgError } from './simple-query.js';

describe('withRetries', () => {
  it('retries serialization failures, deadlocks and "tuple concurrently updated", not other errors', async () => {
    expect(isTransient(new PgError('40001', 'could not serialize access'))).toBe(true);
    expect(isTransient(new PgError('40P01', 'deadlock detected'))).toBe(true);
    expect(isTransient(new PgError('XX000', 'tuple concurrently updated'))).toBe(true);
    expect(isTransient(new PgError('42501', 'permission denied'))).toBe(false);
    let calls = 0;
    await expect(
      withRetries(async () => {
        if (++calls < 3) throw new PgError('40P01', 'deadlock detected');
        return 'done';
      }),
    ).resolves.toBe('done');
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetries(async () => {
        calls++;
        throw new PgError('42704', 'role "x" does not exist');
      }),
    ).rejects.toMatchObject({ code: '42704' });
    expect(calls).toBe(1);
  });
});
