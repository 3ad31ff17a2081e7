import type { Socket } from 'node:net';

/**
 * The first bytes of a paused socket, put back for whoever reads it next: at least `wanted(head)`,
 * asked again as they come. Rejects when the socket ends or closes first ('close' too: a socket
 * destroyed at its deadline never ends), which is what bounds the wait.
 */
export function peek(socket: Socket, wanted: (head: Buffer) => number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onReadable = () => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        head = Buffer.concat([head, chunk]);
      }
      if (head.length === 0 || head.length < wanted(head)) return;
      cleanup();
      socket.unshift(head);
      resolve(head);
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('closed'));
    };
    const cleanup = () => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    onReadable();
  });
}
