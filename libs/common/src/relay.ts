import type { Duplex } from 'node:stream';

/**
 * Forwards what arrives on `from` to `to`, with backpressure, once `observe` has seen it; a chunk
 * `observe` refuses is not forwarded. Whatever has arrived by the time it runs goes on in one write:
 * a TLS socket hands over one record at a time, and one write per record costs a call into the TLS
 * layer and a system call each (a COPY of 1 GB is some 65,000 records of 16 KiB). It never holds more than
 * `from` buffers (its highWaterMark): a large message or a COPY streams through. With `end`, `to` is
 * ended when `from` ends, as pipe() does.
 */
export function relay(from: Duplex, to: Duplex, observe: (chunk: Buffer) => boolean = () => true, options: { end?: boolean } = {}): void {
  let blocked = false;
  const pump = (): void => {
    if (blocked) return;
    for (let chunk = from.read() as Buffer | null; chunk !== null; chunk = from.read() as Buffer | null) {
      if (!observe(chunk)) continue;
      if (!to.write(chunk)) {
        blocked = true;
        to.once('drain', () => {
          blocked = false;
          pump();
        });
        return;
      }
    }
  };
  from.on('readable', pump);
  if (options.end) from.once('end', () => to.end());
  pump();
}
