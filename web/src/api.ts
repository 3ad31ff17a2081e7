// The proxy's web API: same origin, cookie session, JSON errors as { error: { code, message } }.

export type AuditEvent = Record<string, unknown>;

export class ApiError extends Error {
  constructor(
    message: string,
    /** The HTTP status, or 0 when the proxy could not be reached. */
    readonly status: number,
    readonly code = '',
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken = '';
let onUnauthorized: (() => void) | undefined;

/** The token every request other than GET must carry; the cookie alone would let other sites act. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when a request finds the session gone (expired, or signed out in another tab). */
export function setUnauthorizedHandler(handler: (() => void) | undefined): void {
  onUnauthorized = handler;
}

export const isAbort = (err: unknown): boolean => err instanceof DOMException && err.name === 'AbortError';

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function errorBody(value: unknown): { code: string; message: string } | undefined {
  if (typeof value !== 'object' || value === null || !('error' in value)) return undefined;
  const error = (value as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return { code: typeof code === 'string' ? code : '', message: typeof message === 'string' ? message : JSON.stringify(error) };
}

async function failure(res: Response, path: string): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a gateway's HTML page): the status line is all there is.
  }
  const error = errorBody(body);
  // The proxy answers 403 when the cookie is missing or its session has ended ("...: sign in again").
  const signedOut = res.status === 401 || (res.status === 403 && /\bsign in\b/.test(error?.message ?? ''));
  if (signedOut && !path.startsWith('/v1/webapi/sessions/web')) onUnauthorized?.();
  return new ApiError(error?.message || `${res.status} ${res.statusText || 'request failed'}`, res.status, error?.code);
}

async function send(method: string, path: string, body: unknown, signal: AbortSignal | undefined, accept: string): Promise<Response> {
  const headers: Record<string, string> = { Accept: accept };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(`Cannot reach the proxy: ${errorMessage(err)}`, 0);
  }
  if (!res.ok) throw await failure(res, path);
  return res;
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await send(method, path, body, signal, 'application/json');
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

export const get = <T>(path: string, signal?: AbortSignal): Promise<T> => request<T>('GET', path, undefined, signal);

/** A query string of the parameters that have a value ('' and undefined are left out). */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') q.set(key, String(value));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * Reads a JSON-lines response as it streams, calling `onEvent` for each line. An error the server
 * could only report after its 200 status (a last `{ "error": ... }` line) is thrown as an ApiError.
 */
export async function ndjson(url: string, signal: AbortSignal, onEvent: (event: AuditEvent) => void): Promise<void> {
  const res = await send('GET', url, undefined, signal, 'application/x-ndjson');
  if (!res.body) throw new ApiError('The proxy sent no body', res.status);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const line = (text: string) => {
    if (!text.trim()) return;
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null) return;
    // Audit events carry `error` as a string; only the stream's own failure has an object there.
    const error = 'event' in value ? undefined : errorBody(value);
    if (error) throw new ApiError(error.message, 200, error.code);
    onEvent(value as AuditEvent);
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const text of lines) line(text);
    }
    line(buffered + decoder.decode());
  } catch (err) {
    // Stop the download too: a live session's stream would otherwise stay open.
    reader.cancel().catch(() => undefined);
    throw err;
  }
}
