import { benchReport, valueAtPercentile } from './bench-report.js';

describe('valueAtPercentile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('reads the sample of rank round(p/100 * n), as HdrHistogram does', () => {
    expect([25, 50, 75, 90, 95, 99, 100].map((p) => valueAtPercentile(hundred, p))).toEqual([25, 50, 75, 90, 95, 99, 100]);
    // 40 samples: p25 is the 10th, p99 rounds 39.6 up to the 40th
    const forty = Array.from({ length: 40 }, (_, i) => i * 10);
    expect(valueAtPercentile(forty, 25)).toBe(90);
    expect(valueAtPercentile(forty, 99)).toBe(390);
  });

  it('answers the smallest sample for tiny percentiles and the largest for 100', () => {
    expect(valueAtPercentile([3, 7, 9], 1)).toBe(3);
    expect(valueAtPercentile([3, 7, 9], 100)).toBe(9);
  });

  it('answers 0 without samples', () => {
    expect(valueAtPercentile([], 50)).toBe(0);
  });
});

describe('benchReport', () => {
  it("prints Teleport's summary and histogram", () => {
    const durations = [12, 9, 30, 11, 10, 13, 15, 14];
    expect(benchReport({ requestsOriginated: 8, requestsFailed: 0, durationsMs: durations })).toBe(
      [
        '',
        '* Requests originated: 8',
        '* Requests failed: 0',
        '',
        'Histogram',
        '',
        'Percentile Response Duration',
        '---------- -----------------',
        '25         10 ms',
        '50         12 ms',
        '75         14 ms',
        '90         15 ms',
        '95         30 ms',
        '99         30 ms',
        '100        30 ms',
        '',
        '',
      ].join('\n'),
    );
  });

  it('names the last error when requests failed', () => {
    const text = benchReport({
      requestsOriginated: 2,
      requestsFailed: 1,
      lastError: 'FATAL: no such database (SQLSTATE 3D000)',
      durationsMs: [4, 5],
    });
    expect(text).toContain('\n* Requests failed: 1\n* Last error: FATAL: no such database (SQLSTATE 3D000)\n\nHistogram\n');
  });
});
