import fc from 'fast-check';
import { MessageCounter } from './message-counter.js';

const Q = 0x51;
const E = 0x45;

function message(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = type;
  header.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

describe('MessageCounter', () => {
  it('counts queries and executions, not the other messages, however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ type: fc.constantFrom(Q, E, 0x50, 0x42, 0x53, 0x44), body: fc.uint8Array({ maxLength: 300 }) }), {
          maxLength: 40,
        }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (messages, cuts) => {
          const stream = Buffer.concat(messages.map((m) => message(m.type, Buffer.from(m.body))));
          const counter = new MessageCounter(new Set([Q, E]));
          let counted = 0;
          for (let at = 0, k = 0; at < stream.length; k++) {
            const size = cuts[k % cuts.length]!;
            counted += counter.push(stream.subarray(at, at + size));
            at += size;
          }
          expect(counted).toBe(messages.filter((m) => m.type === Q || m.type === E).length);
        },
      ),
    );
  });

  it('passes over a body larger than any chunk', () => {
    const counter = new MessageCounter(new Set([Q]));
    const big = message(0x64, Buffer.alloc(1 << 20));
    expect(counter.push(big.subarray(0, 100))).toBe(0);
    expect(counter.push(Buffer.concat([big.subarray(100), message(Q, Buffer.from('select 1\0'))]))).toBe(1);
  });
});
