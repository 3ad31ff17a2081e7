// The player's timeline, kept free of the DOM so it can be tested under Node. An event is shown at
// its offset from the session's first event; the transcript at a position is the text of every
// event whose offset is at or before it.

import { playbackDelay } from '../../libs/client/src/transcript.js';

export interface Timeline {
  /** Per event, ms from the first event; never decreasing. */
  offsets: number[];
  /** Per event, the transcript's length once that event is shown. */
  ends: number[];
  /** The whole transcript. */
  text: string;
  /** The last event's offset. */
  duration: number;
}

/**
 * Offsets of events with these `time`s. An event without a readable time, or one earlier than the
 * event before it, comes at the previous event's offset, so the order stays the recorded order.
 */
export function eventOffsets(times: readonly unknown[], skipIdle: boolean): number[] {
  const offsets: number[] = [];
  let previous: number | undefined;
  let offset = 0;
  for (const time of times) {
    const at = typeof time === 'string' ? Date.parse(time) : NaN;
    if (!Number.isNaN(at)) {
      if (previous !== undefined) {
        // As `tsh play --skip-idle-time` waits between two events, at speed 1.
        offset += playbackDelay(at - previous, 1, skipIdle);
      }
      previous = previous === undefined ? at : Math.max(previous, at);
    }
    offsets.push(offset);
  }
  return offsets;
}

/** `texts[i]` is what event i adds to the transcript ('' when nothing), `times[i]` its `time`. */
export function buildTimeline(texts: readonly string[], times: readonly unknown[], skipIdle: boolean): Timeline {
  const offsets = eventOffsets(times, skipIdle);
  const ends: number[] = [];
  let length = 0;
  for (const t of texts) ends.push((length += t.length));
  return { offsets, ends, text: texts.join(''), duration: offsets.at(-1) ?? 0 };
}

/** How many events are shown at `position`: those with an offset at or before it. */
export function shownCount(offsets: readonly number[], position: number): number {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (offsets[mid]! <= position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function textAt(timeline: Timeline, position: number): string {
  const count = shownCount(timeline.offsets, position);
  return count ? timeline.text.slice(0, timeline.ends[count - 1]) : '';
}

/**
 * The position in `next` that shows what `position` showed in `previous` (after skip-idle is
 * switched): the offset of the last event shown, or the end when all of them were.
 */
export function remapPosition(previous: Timeline, next: Timeline, position: number): number {
  const count = shownCount(previous.offsets, position);
  if (count >= next.offsets.length) return next.duration;
  return count ? next.offsets[count - 1]! : 0;
}

/** The position after `elapsedMs` of real time at `speed`, and whether playback reached the end. */
export function advance(position: number, elapsedMs: number, speed: number, duration: number): { position: number; ended: boolean } {
  const next = position + Math.max(0, elapsedMs) * speed;
  return next >= duration ? { position: duration, ended: true } : { position: next, ended: false };
}

/** mm:ss (minutes keep counting past 59, as a player's clock does). */
export function clock(ms: number): string {
  const seconds = Math.floor(Math.max(0, ms) / 1000);
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}
