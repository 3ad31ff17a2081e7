import { connect } from 'node:net';

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** An HTTPS request to our proxy without verifying its certificate (a local benchmark cluster only). */
export async function httpsInsecure(url: string, method: string, body?: unknown): Promise<{ status: number; text: string }> {
  const { request } = await import('node:https');
  return new Promise((done, fail) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      { method, rejectUnauthorized: false, headers: payload ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => done({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', fail);
    req.end(payload);
  });
}
