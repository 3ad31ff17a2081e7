import { jest } from '@jest/globals';
import { CommitBatcher } from './commit-batcher.js';

describe('CommitBatcher', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function batcher(maxItems: number, maxWaitMs: number) {
    const commits: number[][] = [];
    return { commits, batcher: new CommitBatcher<number>((items) => commits.push(items), maxItems, maxWaitMs) };
  }

  it('commits a full batch at once, in order', () => {
    const { commits, batcher: b } = batcher(3, 50);
    for (let i = 0; i < 7; i++) b.push(i);
    expect(commits).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    jest.advanceTimersByTime(50);
    expect(commits.at(-1)).toEqual([6]);
  });

  it('commits a trickle once per interval, not once per item', () => {
    const { commits, batcher: b } = batcher(1000, 50);
    for (let i = 0; i < 10; i++) {
      b.push(i);
      jest.advanceTimersByTime(4);
    }
    expect(commits).toEqual([]);
    jest.advanceTimersByTime(10);
    expect(commits).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    b.push(10);
    jest.advanceTimersByTime(49);
    expect(commits).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(commits).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10]]);
  });

  it('flush commits what waits and nothing when empty', () => {
    const { commits, batcher: b } = batcher(100, 50);
    b.flush();
    b.push(1);
    b.flush();
    jest.advanceTimersByTime(100);
    expect(commits).toEqual([[1]]);
  });
});
