import { addReadinessCheck, CHECK_MS, readinessProblems } from './readiness.js';

describe('readinessProblems', () => {
  const removers: (() => void)[] = [];
  afterEach(() => removers.splice(0).forEach((remove) => remove()));
  const add = (check: () => Promise<string[]>) => removers.push(addReadinessCheck(check));

  it('is empty when every check is', async () => {
    add(async () => []);
    expect(await readinessProblems()).toEqual([]);
  });

  it('says each problem once, a failed check by its error, in the order the checks were added', async () => {
    add(async () => ['the broker service is not running']);
    add(async () => ['the broker service is not running', 'the projection of cluster.> is 3 messages behind stream CLUSTER']);
    add(async () => {
      throw new Error('the connection to NATS is closed');
    });
    expect(await readinessProblems()).toEqual([
      'the broker service is not running',
      'the projection of cluster.> is 3 messages behind stream CLUSTER',
      'the connection to NATS is closed',
    ]);
  });

  it('does not wait for a check that hangs', async () => {
    add(() => new Promise(() => undefined));
    const started = Date.now();
    expect(await readinessProblems()).toEqual(['a readiness check did not answer in time']);
    expect(Date.now() - started).toBeLessThan(CHECK_MS + 1_000);
  });

  it('runs the checks once for the probes that come while they run', async () => {
    let runs = 0;
    add(async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 20));
      return [];
    });
    await Promise.all([readinessProblems(), readinessProblems(), readinessProblems()]);
    expect(runs).toBe(1);
    await readinessProblems();
    expect(runs).toBe(2);
  });

  it('forgets a check once removed', async () => {
    const remove = addReadinessCheck(async () => ['stale']);
    remove();
    expect(await readinessProblems()).toEqual([]);
  });
});
