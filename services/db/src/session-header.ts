import type { Duplex } from 'node:stream';
import { BadParameterError, formatDuration } from '#libs/common';
import { formatZodError } from '#libs/config';
import { DataPlane } from '#libs/events';

/** A proxy writes the header as soon as the stream is open; one that has not arrived by then never will. */
export const SESSION_HEADER_TIMEOUT_MS = 5_000;

/** Why a session stream was refused before its session began: said in the log, never to the peer. */
export class SessionHeaderError extends BadParameterError {}

/**
 * Reads the first frame of a session stream (uint32 length, then the header's JSON) from any duplex
 * stream, whoever dialed it. Resolves with the stream paused and the bytes after the frame still in
 * it for the session; rejects with a SessionHeaderError, and never throws from a stream listener.
 */
export function readSessionHeader(stream: Duplex, timeoutMs = SESSION_HEADER_TIMEOUT_MS): Promise<DataPlane.SessionHeader> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      if (buffered.length < 4) return;
      const length = buffered.readUInt32BE(0);
      if (length > DataPlane.MAX_SESSION_HEADER) {
        return fail(new SessionHeaderError(`a session header of ${length} bytes exceeds the limit of ${DataPlane.MAX_SESSION_HEADER}`));
      }
      if (buffered.length < 4 + length) return;
      stream.pause();
      cleanup();
      let header: DataPlane.SessionHeader;
      try {
        header = decodeSessionHeader(buffered.subarray(4, 4 + length));
      } catch (err) {
        return reject(err);
      }
      const rest = buffered.subarray(4 + length);
      if (rest.length) stream.unshift(rest);
      resolve(header);
    };
    const onEnd = () => fail(new SessionHeaderError('the stream ended before its session header'));
    const onError = (err: Error) => fail(new SessionHeaderError(`the stream failed before its session header: ${err.message}`));
    const timer = setTimeout(
      () => fail(new SessionHeaderError(`no complete session header within ${formatDuration(timeoutMs)}`)),
      timeoutMs,
    );
    const fail = (err: SessionHeaderError) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    stream.resume();
  });
}

/** The header's JSON, checked against its schema. */
export function decodeSessionHeader(json: Buffer): DataPlane.SessionHeader {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch {
    throw new SessionHeaderError(`the session header of ${json.length} bytes is not JSON`);
  }
  const parsed = DataPlane.SessionHeaderSchema.safeParse(value);
  if (!parsed.success) throw new SessionHeaderError(`malformed session header: ${formatZodError(parsed.error)}`);
  return parsed.data;
}
