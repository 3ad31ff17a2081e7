import type { Duplex } from 'node:stream';

/**
 * Forwards every chunk from `from` to `to` as it arrives, with backpressure, and hands the same
 * chunk to `observe` afterwards. Observation never holds bytes back.
 */
export function relay(from: Duplex, to: Duplex, observe: (chunk: Buffer) => void): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
    observe(chunk);
  });
  from.resume();
}
