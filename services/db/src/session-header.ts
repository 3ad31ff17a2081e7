import type { Socket } from 'node:net';
import { BadParameterError } from '#libs/common';
import { DataPlane } from '#libs/events';

/** Reads the first frame of a session stream; bytes after it stay in the socket for the session. */
export function readSessionHeader(socket: Socket): Promise<DataPlane.SessionHeader> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      const length = buffered.readUInt32BE(0);
      if (length > DataPlane.MAX_SESSION_HEADER) return finish(new BadParameterError('session header too large'));
      if (buffered.length < 4 + length) return;
      socket.pause();
      socket.off('data', onData);
      const rest = buffered.subarray(4 + length);
      if (rest.length) socket.unshift(rest);
      const parsed = DataPlane.SessionHeaderSchema.safeParse(JSON.parse(buffered.subarray(4, 4 + length).toString('utf8')));
      if (!parsed.success) return finish(new BadParameterError('malformed session header'));
      resolve(parsed.data);
    };
    const finish = (err: Error) => {
      socket.off('data', onData);
      reject(err);
    };
    socket.on('data', onData);
    socket.once('end', () => finish(new BadParameterError('the stream ended before the session header')));
  });
}
