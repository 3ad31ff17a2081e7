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

  it('stops reading while the destination is full, and forwards everything in order once it drains', async () => {
    const from = new PassThrough({ highWaterMark: 1024 });
    let stalled = true;
    const held: Array<() => void> = [];
    const writes: Buffer[] = [];
    const to = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        writes.push(chunk);
        if (stalled) held.push(done);
        else setImmediate(done);
      },
    });
    relay(from, to as unknown as Duplex, () => true, { end: true });
    const sent: Buffer[] = [];
    for (let i = 0; i < 100; i++) {
      sent.push(Buffer.alloc(512, i));
      from.write(sent[i]);
      await tick();
    }
    // What the destination has not taken waits in the source, not in the destination's buffer.
    expect(to.writableLength).toBeLessThanOrEqual(1024 + 512);

    stalled = false;
    for (const done of held.splice(0)) done();
    from.end();
    await new Promise((r) => to.once('finish', r));
    expect(Buffer.concat(writes)).toEqual(Buffer.concat(sent));
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
