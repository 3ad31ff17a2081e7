import fc from 'fast-check';
import { ProtocolViolationError } from '../errors.js';
import { BufferList } from '../testing/buffer-list.js';
import { parseStartupFrame } from './startup.js';

const code = (value: number) => new BufferList().int32(value);

describe('parseStartupFrame', () => {
  it('reads a StartupMessage with its parameters', () => {
    const payload = code(196608).cstring('user').cstring('alice').cstring('database').cstring('postgres').byte(0).payload();
    expect(parseStartupFrame(payload)).toEqual({
      kind: 'StartupMessage',
      protocolVersion: 196608,
      parameters: { user: 'alice', database: 'postgres' },
    });
  });

  it('reads a StartupMessage without parameters', () => {
    expect(parseStartupFrame(code(196608).byte(0).payload())).toEqual({ kind: 'StartupMessage', protocolVersion: 196608, parameters: {} });
  });

  it('reads a later 3.x minor version, which the server negotiates down', () => {
    expect(parseStartupFrame(code(196610).byte(0).payload())).toMatchObject({ protocolVersion: 196610 });
  });

  it('keeps the last value of a repeated parameter and a parameter named __proto__', () => {
    const payload = code(196608).cstring('user').cstring('a').cstring('user').cstring('b').cstring('__proto__').cstring('x').byte(0);
    const { parameters } = parseStartupFrame(payload.payload()) as { parameters: Record<string, string> };
    expect(parameters.user).toBe('b');
    expect(Object.getOwnPropertyDescriptor(parameters, '__proto__')?.value).toBe('x');
  });

  it('reads an SSLRequest', () => expect(parseStartupFrame(code(80877103).payload())).toEqual({ kind: 'SSLRequest' }));

  it('reads a GSSENCRequest', () => expect(parseStartupFrame(code(80877104).payload())).toEqual({ kind: 'GSSENCRequest' }));

  it('reads a CancelRequest', () => {
    expect(parseStartupFrame(code(80877102).int32(4242).int32(-123456789).payload())).toEqual({
      kind: 'CancelRequest',
      processId: 4242,
      secretKey: -123456789,
    });
  });

  it.each<[string, Buffer, RegExp]>([
    ['protocol 2.0', code(131072).byte(0).payload(), /unsupported frontend protocol 2\.0/],
    ['an unknown request code', code(80877199).payload(), /unsupported frontend protocol 1234\.5775/],
    ['an empty payload', Buffer.alloc(0), /truncated/],
    ['a parameter list without its final NUL', code(196608).cstring('user').cstring('alice').payload(), /NUL terminator/],
    ['a value without its NUL', code(196608).cstring('user').add(Buffer.from('alice')).payload(), /NUL terminator/],
    ['bytes after the final NUL', code(196608).byte(0).byte(1).payload(), /unexpected bytes/],
    ['a short CancelRequest', code(80877102).int32(1).payload(), /truncated/],
    ['a long SSLRequest', code(80877103).int32(0).payload(), /unexpected bytes/],
  ])('refuses %s', (_name, payload, message) => {
    expect(() => parseStartupFrame(payload)).toThrow(ProtocolViolationError);
    expect(() => parseStartupFrame(payload)).toThrow(message);
  });

  it('throws nothing but ProtocolViolationError on random payloads', () => {
    const codes = fc.constantFrom(196608, 80877102, 80877103, 80877104).map((c) => code(c).payload());
    const payload = fc.tuple(fc.oneof(codes, fc.uint8Array({ maxLength: 4 }).map(Buffer.from)), fc.uint8Array({ maxLength: 40 }));
    fc.assert(
      fc.property(payload, ([head, tail]) => {
        try {
          parseStartupFrame(Buffer.concat([head, tail]));
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolViolationError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
