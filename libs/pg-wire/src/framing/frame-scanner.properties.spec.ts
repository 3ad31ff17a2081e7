import fc from 'fast-check';
import { FrameTooLargeError, ProtocolViolationError } from '../errors.js';
import { BufferList } from '../testing/buffer-list.js';
import { oneByteChunks, scanChunks, splitAt } from '../testing/chunks.js';
import { FrameScanner, type Inspection, type Phase, type ScannedFrame } from './frame-scanner.js';

const startupMessage = () => new BufferList().int32(196608).cstring('user').cstring('alice').byte(0).startup();

function scanner(phase: Phase, inspect: (type: number | null) => Inspection, maxFrameLength = 1 << 30) {
  return new FrameScanner({ phase, maxFrameLength, inspect });
}

describe('FrameScanner properties', () => {
  const frameArb = fc.record({ type: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 200 }).map(Buffer.from) });

  it('gives the same frames for any chunking, payloads only for inspected frames, none for skipped ones', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 20 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 255 })),
        fc.uniqueArray(fc.integer({ min: 0, max: 255 })),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.boolean(),
        (frames, inspectedTypes, skippedTypes, cuts, oneByOne) => {
          const inspected = new Set(inspectedTypes);
          const skipped = new Set(skippedTypes.filter((t) => !inspected.has(t)));
          const stream = Buffer.concat(frames.map((f) => new BufferList().add(f.payload).message(String.fromCharCode(f.type))));
          const expected = frames
            .filter(({ type }) => !skipped.has(type))
            .map(({ type, payload }) =>
              inspected.has(type) ? { type, length: payload.length, payload } : { type, length: payload.length },
            );
          const inspect = (type: number | null): Inspection => inspected.has(type ?? -1) || (skipped.has(type ?? -1) ? 'skip' : false);
          const chunks = oneByOne ? oneByteChunks(stream) : splitAt(stream, cuts);
          const whole = scanner('regular', inspect).push(stream);
          const chunked = scanChunks(scanner('regular', inspect), chunks);
          expect(whole).toEqual(expected);
          expect(chunked).toEqual(expected);
          for (const frame of chunked) expect('payload' in frame).toBe(inspected.has(frame.type ?? -1));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('finds the phase change after a StartupMessage at any chunking', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(frameArb, { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 10 }), (gss, regularFrames, cuts) => {
        const gssRequest = new BufferList().int32(80877104).startup();
        const regular = regularFrames.map((f) => new BufferList().add(f.payload).message(String.fromCharCode(f.type)));
        const stream = Buffer.concat([...(gss ? [gssRequest] : []), startupMessage(), ...regular]);
        const s = scanner('startup', () => false);
        expect(scanChunks(s, splitAt(stream, cuts)).map((f) => f.type)).toEqual([
          ...(gss ? [null] : []),
          null,
          ...regularFrames.map((f) => f.type),
        ]);
      }),
      { numRuns: 300 },
    );
  });

  it('throws nothing but FrameTooLargeError or ProtocolViolationError on random bytes', () => {
    const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constant(0));
    fc.assert(
      fc.property(
        fc.constantFrom<Phase>('startup', 'regular'),
        fc.integer({ min: 0, max: 300 }),
        fc.boolean(),
        fc.array(fc.array(byte, { maxLength: 40 }), { maxLength: 10 }),
        (phase, maxFrameLength, inspectAll, chunks) => {
          const s = scanner(phase, () => inspectAll, maxFrameLength);
          let frames: ScannedFrame[];
          try {
            frames = scanChunks(
              s,
              chunks.map((c) => Buffer.from(c)),
            );
          } catch (err) {
            expect(err instanceof FrameTooLargeError || err instanceof ProtocolViolationError).toBe(true);
            return;
          }
          for (const frame of frames) {
            expect(frame.length).toBeLessThanOrEqual(maxFrameLength);
            expect(frame.payload?.length ?? frame.length).toBe(frame.length);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});
