import type { Duplex } from 'node:stream';
import { ProtocolViolationError } from '../errors.js';

/** Startup-phase frames are tiny; a bigger "length" is not PostgreSQL speaking. */
const MAX_STARTUP = 10_000;

/**
 * Reads one startup-phase frame (int32 length including itself, then the payload) from a stream and
 * pauses it; bytes after the frame are put back for whoever reads next. The only stream helper here:
 * startup frames are the one place where a reader must stop exactly at a frame's end.
 */
export function readStartupFrame(socket: Duplex, timeoutMs = 30_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => done(new ProtocolViolationError('no startup message within 30s')), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      if (buffered.length < 4) return;
      const length = buffered.readInt32BE(0);
      if (length < 8 || length > MAX_STARTUP) return done(new ProtocolViolationError(`invalid startup message length ${length}`));
      if (buffered.length < length) return;
      socket.pause();
      const rest = buffered.subarray(length);
      if (rest.length) socket.unshift(rest);
      done(undefined, buffered.subarray(4, length));
    };
    const onEnd = () => done(new ProtocolViolationError('the client closed the connection during startup'));
    const done = (err?: Error, payload?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', done);
      if (err) reject(err);
      else resolve(payload!);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    // A socket destroyed (at a deadline, say) closes without ending.
    socket.once('close', onEnd);
    socket.once('error', done);
    socket.resume();
  });
}
