import { BadParameterError } from '#libs/common';
import { parseLoadPlan, plannedRequests, runLoad } from './bench-run.js';

describe('plannedRequests', () => {
  it('is rate times duration, at least one', () => {
    expect(plannedRequests({ rate: 20, durationMs: 2000 })).toBe(40);
    expect(plannedRequests({ rate: 3, durationMs: 1500 })).toBe(4);
    expect(plannedRequests({ rate: 1, durationMs: 500 })).toBe(1);
  });
});

describe('runLoad', () => {
  it('starts requests at the rate without waiting for earlier ones, and counts every one', async () => {
    let running = 0;
    let most = 0;
    const starts: number[] = [];
    const t0 = performance.now();
    const result = await runLoad({ rate: 100, durationMs: 200, timeoutMs: 1000 }, async () => {
      starts.push(performance.now() - t0);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 55));
      running--;
    });
    expect(result.requestsOriginated).toBe(20);
    expect(result.requestsFailed).toBe(0);
    expect(result.durationsMs).toHaveLength(20);
    expect(Math.min(...result.durationsMs)).toBeGreaterThanOrEqual(50); // timers may fire a little early
    expect(most).toBeGreaterThanOrEqual(4); // an open loop: 55 ms requests every 10 ms overlap
    expect(starts[0]).toBeGreaterThanOrEqual(8); // the first after one interval
  });

  it('counts failures, keeps the last error and times failed requests too', async () => {
    let n = 0;
    const result = await runLoad({ rate: 50, durationMs: 100, timeoutMs: 1000 }, async () => {
      n++;
      if (n % 2 === 0) throw new Error(`failure ${n}`);
    });
    expect(result).toMatchObject({ requestsOriginated: 5, requestsFailed: 2, lastError: 'failure 4' });
    expect(result.durationsMs).toHaveLength(5);
  });

  it('hands each request a signal that aborts after the timeout', async () => {
    const result = await runLoad({ rate: 10, durationMs: 100, timeoutMs: 30 }, (signal) => {
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('gave up'))));
    });
    expect(result).toMatchObject({ requestsOriginated: 1, requestsFailed: 1, lastError: 'gave up' });
  });

  it('stops the schedule when told to and still waits for the requests under way', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 55);
    let finished = 0;
    const result = await runLoad(
      { rate: 100, durationMs: 10_000, timeoutMs: 1000 },
      async () => {
        await new Promise((r) => setTimeout(r, 30));
        finished++;
      },
      stop.signal,
    );
    // about 5 started in 55 ms at 100/s; far from the 1000 planned
    expect(result.requestsOriginated).toBeGreaterThanOrEqual(1);
    expect(result.requestsOriginated).toBeLessThanOrEqual(20);
    expect(finished).toBe(result.requestsOriginated);
  });
});

describe('parseLoadPlan', () => {
  it("reads Teleport's --rate and --duration", () => {
    expect(parseLoadPlan({ rate: '20', duration: '2s' }, 60_000)).toEqual({ rate: 20, durationMs: 2000, timeoutMs: 60_000 });
    expect(parseLoadPlan({ rate: '10', duration: '1m30s' }, 5).durationMs).toBe(90_000);
  });

  it.each(['0', '-3', '2.5', 'ten', ''])('refuses --rate %j', (rate) => {
    expect(() => parseLoadPlan({ rate, duration: '1s' }, 1)).toThrow(BadParameterError);
    expect(() => parseLoadPlan({ rate, duration: '1s' }, 1)).toThrow(
      /^invalid --rate ".*": use a whole number of requests per second, like 10$/,
    );
  });

  it.each(['2', 'soon', '0s'])('refuses --duration %j', (duration) => {
    expect(() => parseLoadPlan({ rate: '1', duration }, 1)).toThrow(BadParameterError);
  });
});
