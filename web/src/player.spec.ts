import { advance, buildTimeline, clock, eventOffsets, remapPosition, textAt } from './player.js';

const at = (seconds: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, 0) + seconds * 1000).toISOString();

describe('the web player timeline', () => {
  it('places events at their offsets, pauses over a second shown as one with skip-idle', () => {
    const times = [at(0), at(0.5), at(10.5), at(11)];
    expect(eventOffsets(times, false)).toEqual([0, 500, 10_500, 11_000]);
    expect(eventOffsets(times, true)).toEqual([0, 500, 1_500, 2_000]);
  });

  it('keeps the recorded order for an event without a time or with an earlier one', () => {
    expect(eventOffsets([at(0), undefined, at(2), at(1), at(3)], false)).toEqual([0, 0, 2_000, 2_000, 3_000]);
  });

  it('shows the text of every event at or before the position', () => {
    const timeline = buildTimeline(['start\n', '', 'q1\n', 'q2\n'], [at(0), at(1), at(2), at(3)], false);
    expect(timeline.duration).toBe(3_000);
    expect(textAt(timeline, 0)).toBe('start\n');
    expect(textAt(timeline, 1_999)).toBe('start\n');
    expect(textAt(timeline, 2_000)).toBe('start\nq1\n');
    expect(textAt(timeline, 3_000)).toBe('start\nq1\nq2\n');
    expect(textAt(buildTimeline([], [], true), 0)).toBe('');
  });

  it('keeps what is shown when skip-idle is switched', () => {
    const texts = ['a', 'b', 'c'];
    const times = [at(0), at(30), at(60)];
    const real = buildTimeline(texts, times, false);
    const skipped = buildTimeline(texts, times, true);
    expect(remapPosition(real, skipped, 45_000)).toBe(1_000);
    expect(textAt(skipped, remapPosition(real, skipped, 45_000))).toBe('ab');
    expect(remapPosition(skipped, real, 2_000)).toBe(60_000);
  });

  it('advances by elapsed time times the speed and stops at the end', () => {
    expect(advance(1_000, 500, 2, 5_000)).toEqual({ position: 2_000, ended: false });
    expect(advance(4_500, 500, 4, 5_000)).toEqual({ position: 5_000, ended: true });
    expect(clock(61_999)).toBe('01:01');
  });
});
