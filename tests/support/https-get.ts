import { request } from 'node:https';

export interface TextResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** GET over HTTPS without verifying the server's certificate, the body as text (for HTML pages). */
export function httpsGetText(url: string): Promise<TextResponse> {
  return httpsText(url);
}

/** A request over HTTPS without verifying the server's certificate, with the headers given; the body as text. */
export function httpsText(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<TextResponse> {
  return new Promise((done, fail) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', fail);
    req.end(opts.body);
  });
}
