// Client messages written by node-postgres's serializer (pg-protocol) read back by ours.
import fc from 'fast-check';
// The package's ESM entry (esm/index.js) is not marked as a module, so Jest loads the CommonJS file.
import { serialize } from 'pg-protocol/dist/serializer.js';
import { FrameScanner } from '../framing/frame-scanner.js';
import { BufferList, splitMessage } from '../testing/buffer-list.js';
import { scanChunks, splitAt } from '../testing/chunks.js';
import type { FrontendMessage } from './messages.js';
import { parseFrontendMessage } from './parse.js';
import { parseStartupFrame, type StartupFrame } from './startup.js';

interface Case {
  bytes: Buffer;
  expected: FrontendMessage;
}

const str = fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replaceAll('\0', ''));
const bytes = fc.uint8Array({ maxLength: 100 }).map(Buffer.from);
const target = fc.constantFrom<'S' | 'P'>('S', 'P');
const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const c = (bytes: Buffer, expected: FrontendMessage): Case => ({ bytes, expected });
const bindValue = fc.oneof(str, bytes, fc.constant(null));

const messageArb: fc.Arbitrary<Case> = fc.oneof(
  str.map((sql) => c(serialize.query(sql), { kind: 'Query', sql })),
  fc
    .record({ name: str, text: str, types: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 5 }) })
    .map((p) => c(serialize.parse(p), { kind: 'Parse', statementName: p.name, sql: p.text, parameterTypes: p.types })),
  fc.record({ portal: str, statement: str, binary: fc.boolean(), values: fc.array(bindValue, { maxLength: 5 }) }).map((b) =>
    c(serialize.bind(b), {
      kind: 'Bind',
      portalName: b.portal,
      statementName: b.statement,
      // pg-protocol sends strings and NULL as text, Buffers as binary
      parameterFormats: b.values.map((v) => (v instanceof Buffer ? 1 : 0)),
      parameters: b.values.map((v) => (v === null ? null : Buffer.from(v))),
      resultFormats: [b.binary ? 1 : 0],
    }),
  ),
  fc
    .record({ portal: str, rows: fc.integer({ min: 0, max: 0x7fffffff }) })
    .map((e) => c(serialize.execute(e), { kind: 'Execute', portalName: e.portal, maxRows: e.rows })),
  fc.record({ type: target, name: str }).map((d) => c(serialize.describe(d), { kind: 'Describe', target: d.type, name: d.name })),
  fc.record({ type: target, name: str }).map((d) => c(serialize.close(d), { kind: 'Close', target: d.type, name: d.name })),
  fc.constant(c(serialize.sync(), { kind: 'Sync' })),
  fc.constant(c(serialize.flush(), { kind: 'Flush' })),
  fc.constant(c(serialize.end(), { kind: 'Terminate' })),
  fc.constant(c(serialize.copyDone(), { kind: 'CopyDone' })),
  bytes.map((data) => c(serialize.copyData(data), { kind: 'CopyData', data })),
  str.map((message) => c(serialize.copyFail(message), { kind: 'CopyFail', message })),
  str.map((password) => c(serialize.password(password), { kind: 'PasswordMessage', data: new BufferList().cstring(password).payload() })),
  fc.tuple(str, str).map(([mechanism, response]) =>
    c(serialize.sendSASLInitialResponseMessage(mechanism, response), {
      kind: 'PasswordMessage',
      data: new BufferList().cstring(mechanism).int32(Buffer.byteLength(response)).add(Buffer.from(response)).payload(),
    }),
  ),
  str.map((data) => c(serialize.sendSCRAMClientFinalMessage(data), { kind: 'PasswordMessage', data: Buffer.from(data) })),
);

const parameters = fc.dictionary(
  str.filter((k) => k !== '' && k !== '__proto__'),
  str,
  { maxKeys: 5 },
);

describe('round trip from pg-protocol serialize', () => {
  it('reads every client message pg-protocol writes', () => {
    fc.assert(
      fc.property(messageArb, ({ bytes, expected }) => {
        const { type, payload } = splitMessage(bytes);
        expect(parseFrontendMessage(type, payload)).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it.each<[string, () => Buffer, StartupFrame]>([
    ['SSLRequest', () => serialize.requestSsl(), { kind: 'SSLRequest' }],
    ['CancelRequest', () => serialize.cancel(77, -5), { kind: 'CancelRequest', processId: 77, secretKey: -5 }],
  ])('reads a %s', (_name, write, expected) => expect(parseStartupFrame(write().subarray(4))).toEqual(expected));

  it('reads any CancelRequest', () => {
    fc.assert(
      fc.property(int32, int32, (processId, secretKey) => {
        expect(parseStartupFrame(serialize.cancel(processId, secretKey).subarray(4))).toEqual({
          kind: 'CancelRequest',
          processId,
          secretKey,
        });
      }),
    );
  });

  it('scans and reads a StartupMessage and the messages after it, however the stream is chunked', () => {
    fc.assert(
      fc.property(parameters, fc.array(messageArb, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 20 }), (opts, cases, cuts) => {
        const stream = Buffer.concat([serialize.startup(opts), ...cases.map((m) => m.bytes)]);
        const scanner = new FrameScanner({ phase: 'startup', maxFrameLength: 1 << 20, inspect: () => true });
        const [startup, ...frames] = scanChunks(scanner, splitAt(stream, cuts));

        expect(parseStartupFrame(startup?.payload ?? Buffer.alloc(0))).toEqual({
          kind: 'StartupMessage',
          protocolVersion: 196608,
          // pg-protocol always appends client_encoding
          parameters: { ...opts, client_encoding: 'UTF8' },
        });
        expect(frames.map((f) => parseFrontendMessage(f.type ?? -1, f.payload ?? Buffer.alloc(0)))).toEqual(cases.map((m) => m.expected));
      }),
      { numRuns: 500 },
    );
  });
});
