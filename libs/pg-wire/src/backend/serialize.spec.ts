import { BadParameterError } from '#libs/common';
import fc from 'fast-check';
// Jest loads pg-protocol's CommonJS files: its ESM entry (esm/index.js) is not marked as a module.
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { BufferList } from '../testing/buffer-list.js';
import { parseErrorFields } from './read.js';
import { backend, type ErrorFields } from './serialize.js';

/** What node-postgres's parser reads from our bytes. */
function pgParse(bytes: Buffer): BackendMessage[] {
  const messages: BackendMessage[] = [];
  new Parser().parse(bytes, (message) => messages.push(message));
  return messages;
}

const fields = () => new BufferList();

describe('backend', () => {
  it.each<[string, Buffer, Buffer]>([
    ['authenticationOk', backend.authenticationOk(), fields().int32(0).message('R')],
    ['authenticationCleartextPassword', backend.authenticationCleartextPassword(), fields().int32(3).message('R')],
    ['backendKeyData', backend.backendKeyData(4242, -7), fields().int32(4242).int32(-7).message('K')],
    ['parameterStatus', backend.parameterStatus('server_version', '16.4'), fields().cstring('server_version').cstring('16.4').message('S')],
    ['readyForQuery', backend.readyForQuery('T'), fields().char('T').message('Z')],
    [
      'errorResponse',
      backend.errorResponse({ severity: 'FATAL', code: '28000', message: 'access denied', hint: 'ask for a role' }),
      fields()
        .char('S')
        .cstring('FATAL')
        .char('V')
        .cstring('FATAL')
        .char('C')
        .cstring('28000')
        .char('M')
        .cstring('access denied')
        .char('H')
        .cstring('ask for a role')
        .byte(0)
        .message('E'),
    ],
    [
      'noticeResponse',
      backend.noticeResponse({ severity: 'NOTICE', code: '00000', message: 'm', detail: 'd' }),
      fields()
        .char('S')
        .cstring('NOTICE')
        .char('V')
        .cstring('NOTICE')
        .char('C')
        .cstring('00000')
        .char('M')
        .cstring('m')
        .char('D')
        .cstring('d')
        .byte(0)
        .message('N'),
    ],
    ['sslAnswer(true)', backend.sslAnswer(true), Buffer.from('S')],
    ['sslAnswer(false)', backend.sslAnswer(false), Buffer.from('N')],
  ])('writes %s', (_name, actual, expected) => expect(actual).toEqual(expected));

  it.each<[string, () => Buffer]>([
    ['a process ID beyond Int32', () => backend.backendKeyData(0x80000000, 1)],
    ['a fractional secret key', () => backend.backendKeyData(1, 1.5)],
    ['a NUL in a parameter value', () => backend.parameterStatus('application_name', 'a\0b')],
    ['a NUL in an error message', () => backend.errorResponse({ severity: 'ERROR', code: '42000', message: 'x\0Mforged' })],
    ['a malformed SQLSTATE', () => backend.errorResponse({ severity: 'ERROR', code: '42', message: 'x' })],
  ])('refuses %s', (_name, write) => expect(write).toThrow(BadParameterError));

  describe('read back by pg-protocol', () => {
    const str = fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replaceAll('\0', ''));
    const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
    const errorFields: fc.Arbitrary<ErrorFields> = fc.record(
      {
        severity: fc.constantFrom('ERROR', 'FATAL', 'PANIC', 'WARNING', 'NOTICE', 'INFO', 'LOG'),
        code: fc.stringMatching(/^[0-9A-Z]{5}$/),
        message: str,
        detail: str,
        hint: str,
      },
      { requiredKeys: ['severity', 'code', 'message'] },
    );

    it('reads the authentication requests', () => {
      expect(pgParse(Buffer.concat([backend.authenticationOk(), backend.authenticationCleartextPassword()]))).toMatchObject([
        { name: 'authenticationOk', length: 8 },
        { name: 'authenticationCleartextPassword', length: 8 },
      ]);
    });

    it('reads BackendKeyData', () => {
      fc.assert(
        fc.property(int32, int32, (processID, secretKey) => {
          expect(pgParse(backend.backendKeyData(processID, secretKey))).toMatchObject([{ name: 'backendKeyData', processID, secretKey }]);
        }),
      );
    });

    it('reads ParameterStatus', () => {
      fc.assert(
        fc.property(str, str, (parameterName, parameterValue) => {
          expect(pgParse(backend.parameterStatus(parameterName, parameterValue))).toMatchObject([
            { name: 'parameterStatus', parameterName, parameterValue },
          ]);
        }),
      );
    });

    it.each(['I', 'T', 'E'] as const)('reads ReadyForQuery %s', (status) => {
      expect(pgParse(backend.readyForQuery(status))).toMatchObject([{ name: 'readyForQuery', status }]);
    });

    it.each([
      ['errorResponse', 'error'],
      ['noticeResponse', 'notice'],
    ] as const)('reads %s fields, and ours reads the non-localized severity', (write, name) => {
      fc.assert(
        fc.property(errorFields, (f) => {
          const bytes = backend[write](f);
          expect(pgParse(bytes)).toMatchObject([
            { name, severity: f.severity, code: f.code, message: f.message, detail: f.detail, hint: f.hint },
          ]);
          expect(parseErrorFields(bytes.subarray(5))).toMatchObject({ V: f.severity });
        }),
      );
    });
  });
});
