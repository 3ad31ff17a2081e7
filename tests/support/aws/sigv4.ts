// AWS Signature Version 4, computed here from the specification, independently of the SDK that signs:
// what AWS itself recomputes to check a request or an RDS IAM token.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const ALGORITHM = 'AWS4-HMAC-SHA256';

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 percent-encoding: only A-Z a-z 0-9 - _ . ~ stay as they are. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `<access key>/<yyyymmdd>/<region>/<service>/aws4_request` */
export interface CredentialScope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

export function parseCredential(credential: string): CredentialScope | undefined {
  const [accessKeyId, date, region, service, terminator, ...rest] = credential.split('/');
  if (!accessKeyId || !date || !region || !service || terminator !== 'aws4_request' || rest.length) return undefined;
  return { accessKeyId, date, region, service };
}

/** `20240102T030405Z` as a Date. */
export function parseAmzDate(amzDate: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

export function canonicalRequest(opts: {
  method: string;
  path: string;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  signedHeaders: string[];
  payloadHash: string;
}): string {
  const query = opts.query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = opts.signedHeaders.map((h) => `${h}:${(opts.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  return [opts.method, opts.path, query, headers, opts.signedHeaders.join(';'), opts.payloadHash].join('\n');
}

/** The hex signature of a canonical request with the secret key of the scope's access key. */
export function signature(secretAccessKey: string, scope: CredentialScope, amzDate: string, canonical: string): string {
  const scopeText = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scopeText, sha256Hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, scope.date), scope.region), scope.service), 'aws4_request');
  return hmac(key, stringToSign).toString('hex');
}

export function sameSignature(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` header. */
export function parseAuthorization(
  header: string | undefined,
): { scope: CredentialScope; signedHeaders: string[]; signature: string } | undefined {
  if (!header?.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = Object.fromEntries(
    header
      .slice(ALGORITHM.length + 1)
      .split(',')
      .map((f) => f.trim().split('=') as [string, string]),
  );
  const scope = fields.Credential ? parseCredential(fields.Credential) : undefined;
  if (!scope || !fields.SignedHeaders || !fields.Signature) return undefined;
  return { scope, signedHeaders: fields.SignedHeaders.split(';'), signature: fields.Signature };
}
