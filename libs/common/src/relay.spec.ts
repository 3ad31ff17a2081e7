import { Duplex, PassThrough, Writable } from 'node:stream';
import { relay } from './relay.js';

/** A sink that records each write, slow to drain when `highWaterMark` is small. */
function sink(highWaterMark = 16_384): Writable & { writes: Buffer[] } {
  const writes: Buffer[] = [];
  const w = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      writes.push(chunk);
      setImmediate(done);
    },
  });
  return Object.assign(w, { writes });
}

const tick = () => new Promise((r) => setImmediate(r));

describe('relay', () => {
  it('forwards in one write what arrived before it ran', async () => {
    const from = new PassThrough();
    for (const part of ['a', 'b', 'c']) from.write(part);
    const to = sink();
    relay(from, to as unknown as Duplex);
    await tick();
    expect(to.writes.map(String)).toEqual(['abc']);
  });

  it('forwards everything, in order, through backpressure, holding no more than the source buffers', async () => {
    const from = new PassThrough({ highWaterMark: 1024 });
    const to = sink(1);
    relay(from, to as unknown as Duplex, () => true, { end: true });
    const sent: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const chunk = Buffer.alloc(512, i % 256);
      sent.push(chunk);
      if (!from.write(chunk)) await new Promise((r) => from.once('drain', r));
      expect(from.readableLength).toBeLessThanOrEqual(1024 + 512);
    }
    from.end();
    await new Promise((r) => to.once('finish', r));
    expect(Buffer.concat(to.writes)).toEqual(Buffer.concat(sent));
  });

  it('drops what observe refuses, and goes on with what follows', async () => {
    const from = new PassThrough();
    const to = sink();
    relay(from, to as unknown as Duplex, (chunk) => !String(chunk).includes('x'));
    from.write('ok1');
    await tick();
    from.write('xx');
    await tick();
    from.write('ok2');
    await tick();
    expect(to.writes.map(String)).toEqual(['ok1', 'ok2']);
  });
});
