import { PassThrough } from 'node:stream';
import { DataPlane } from '#libs/events';
import { readSessionHeader, SessionHeaderError } from './session-header.js';

const header: DataPlane.SessionHeader = {
  sid: '307b49d6-56c7-4d20-8cf0-5bc5348a7101',
  user_cert: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  db_user: 'alice',
  db_name: 'postgres',
  parameters: { application_name: 'psql' },
  client_addr: '127.0.0.1:50000',
};

/** int32 length, then `body`. */
function frame(body: string | Buffer, length = Buffer.byteLength(body)): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length);
  return Buffer.concat([prefix, Buffer.from(body)]);
}

describe('readSessionHeader', () => {
  it('reads a header sent a byte at a time and leaves what follows in the paused stream', async () => {
    const stream = new PassThrough();
    const read = readSessionHeader(stream, 1_000);
    const bytes = Buffer.concat([DataPlane.encodeSessionHeader(header), Buffer.from('Q after')]);
    for (const byte of bytes) stream.write(Buffer.from([byte]));
    await expect(read).resolves.toEqual(header);
    expect(stream.isPaused()).toBe(true);
    expect(stream.listenerCount('data')).toBe(0);
    expect(stream.listenerCount('close')).toBe(0);
    const rest: Buffer[] = [];
    stream.on('data', (d: Buffer) => rest.push(d));
    stream.resume();
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(rest).toString()).toBe('Q after');
  });

  it.each([
    ['JSON that does not parse', frame('not json!!'), 'the session header of 10 bytes is not JSON'],
    ['an empty header', frame(''), 'the session header of 0 bytes is not JSON'],
    ['a header missing fields', frame(JSON.stringify({ ...header, sid: undefined })), 'malformed session header: sid: '],
    ['a header with an unknown field', frame(JSON.stringify({ ...header, admin: true })), 'malformed session header: admin: unknown field'],
    ['a header that is not an object', frame('null'), 'malformed session header: '],
  ])('refuses %s', async (_what, bytes, message) => {
    const stream = new PassThrough();
    const read = readSessionHeader(stream, 1_000);
    stream.write(bytes);
    const err = await read.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionHeaderError);
    expect((err as Error).message).toContain(message);
  });

  it('refuses an oversized length as soon as the length arrives', async () => {
    const stream = new PassThrough();
    const read = readSessionHeader(stream, 60_000);
    stream.write(frame('', DataPlane.MAX_SESSION_HEADER + 1));
    await expect(read).rejects.toThrow(`a session header of ${DataPlane.MAX_SESSION_HEADER + 1} bytes exceeds the limit of 65536`);
  });

  it('gives up on a header that stops halfway', async () => {
    const stream = new PassThrough();
    const started = Date.now();
    const read = readSessionHeader(stream, 100);
    stream.write(frame('0123456789', 100).subarray(0, 14));
    await expect(read).rejects.toThrow(new SessionHeaderError('no complete session header within 100ms'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(stream.listenerCount('data')).toBe(0);
  });

  it('refuses a stream that ends or is destroyed before its header', async () => {
    const ended = new PassThrough();
    const readEnded = readSessionHeader(ended, 1_000);
    ended.end(Buffer.from([0, 0]));
    await expect(readEnded).rejects.toThrow('the stream ended before its session header');

    const destroyed = new PassThrough();
    const readDestroyed = readSessionHeader(destroyed, 1_000);
    destroyed.destroy(new Error('reset by peer'));
    await expect(readDestroyed).rejects.toThrow('the stream failed before its session header: reset by peer');
  });
});
