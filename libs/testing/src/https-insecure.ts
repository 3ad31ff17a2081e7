import { request } from 'node:https';

/**
 * An HTTPS request to a local test or demo cluster without verifying its certificate (it comes from
 * the cluster's own CA). Never for anything but clusters this process started.
 */
export function httpsInsecure(url: string, method: string, body?: unknown): Promise<{ status: number; text: string }> {
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
