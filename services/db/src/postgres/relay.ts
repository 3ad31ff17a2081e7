import type { Duplex } from 'node:stream';

/**
 * Forwards every chunk from `from` to `to` as it arrives, with backpressure, once `observe` has seen
 * it: the audit events it finds are written to the spool before the bytes that caused them go on. A
 * chunk `observe` refuses (its events could not be written) is not forwarded.
 */
export function relay(from: Duplex, to: Duplex, observe: (chunk: Buffer) => boolean): void {
  from.on('data', (chunk: Buffer) => {
    if (!observe(chunk)) return;
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.resume();
}
