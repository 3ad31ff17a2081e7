import { errors } from '@nats-io/transport-node';
import { natsCause, retryThroughFailover, retryWhile } from './failover.js';

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

describe('retryWhile', () => {
  it('retries only what its predicate accepts, at its own pace (RpcClient: no responders only)', async () => {
    const isNoResponders = (err: unknown) => natsCause(err) instanceof errors.NoRespondersError;
    const timeout = new errors.TimeoutError();
    let calls = 0;
    await expect(
      retryWhile(
        async () => {
          calls++;
          throw calls === 1 ? new errors.RequestError('no responders', { cause: new errors.NoRespondersError('x') }) : timeout;
        },
        isNoResponders,
        1_000,
        1,
      ),
    ).rejects.toBe(timeout);
    expect(calls).toBe(2);
  });
});
