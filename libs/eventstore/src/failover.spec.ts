import { errors } from '@nats-io/transport-node';
import { retryThroughFailover } from './failover.js';

/** What nats.js throws for a JetStream request nobody answers (a stream electing its leader). */
function noResponders(): Error {
  const err = new Error('jetstream is not enabled');
  err.name = 'JetStreamNotEnabled';
  return err;
}

describe('retryThroughFailover', () => {
  it('retries while nothing answers, then returns what the operation returns', async () => {
    const failures = [noResponders(), new errors.TimeoutError()];
    let calls = 0;
    const result = await retryThroughFailover(async () => {
      calls++;
      const failure = failures.shift();
      if (failure) throw failure;
      return 'stored';
    });
    expect(result).toBe('stored');
    expect(calls).toBe(3);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    const refused = new Error('wrong last sequence');
    await expect(
      retryThroughFailover(async () => {
        calls++;
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it('gives up with the last error when the budget is spent', async () => {
    let calls = 0;
    await expect(
      retryThroughFailover(async () => {
        calls++;
        throw noResponders();
      }, 600),
    ).rejects.toThrow('jetstream is not enabled');
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(4);
  });
});
