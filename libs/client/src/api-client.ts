import type { IncomingMessage } from 'node:http';
import { request, Agent } from 'node:https';
import { createInterface } from 'node:readline';
import {
  AccessDeniedError,
  ConnectionProblemError,
  fromErrorBody,
  InternalError,
  isErrorBody,
  parseHostPort,
  formatHostPort,
} from '#libs/common';
import { INTERNAL_SERVER_NAME, trustedRoots } from '#libs/pki';

export interface ClientTls {
  /** Client certificate and key (mutual TLS) for calls that need an identity. */
  certPem?: string;
  privateKeyPem?: string;
  /** CA certificates trusted for the proxy, on top of the system's roots. */
  trustedCas?: string[];
  /** Skip verification of the proxy's certificate (`--insecure`). */
  insecure?: boolean;
  /**
   * A process of the cluster (tctl with the admin identity): ask for the proxy's host certificate and
   * trust only `trustedCas`, whatever certificate (https_keypairs) the proxy shows users.
   */
  cluster?: boolean;
}

const TLS_TRUST_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
]);

/** JSON over HTTPS to the proxy's API; errors come back as typed errors with the server's message. */
export class ApiClient {
  readonly addr: string;
  private readonly agent: Agent;

  constructor(proxyAddr: string, tls: ClientTls = {}) {
    this.addr = formatHostPort(parseHostPort(proxyAddr, 443));
    this.agent = new Agent({
      keepAlive: false,
      ...(tls.certPem && tls.privateKeyPem ? { cert: tls.certPem, key: tls.privateKeyPem } : {}),
      ...(tls.cluster
        ? { ca: tls.trustedCas ?? [], servername: INTERNAL_SERVER_NAME }
        : { ca: [...trustedRoots(), ...(tls.trustedCas ?? [])] }),
      rejectUnauthorized: !tls.insecure,
    });
  }

  get<T>(path: string): Promise<T> {
    return this.send<T>('GET', path);
  }
  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('POST', path, body);
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('PUT', path, body);
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('PATCH', path, body);
  }
  delete<T>(path: string): Promise<T> {
    return this.send<T>('DELETE', path);
  }

  /**
   * A response of JSON lines, yielded as they arrive; a line `{"error": ...}` (the server failing after
   * it started answering) is thrown. No idle timeout: a followed session may be quiet for a long time.
   */
  async *lines<T>(path: string): AsyncGenerator<T> {
    const res = await this.open(path);
    if ((res.statusCode ?? 500) >= 400) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      throw this.failure(res.statusCode, Buffer.concat(chunks).toString('utf8'));
    }
    for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
      if (!line) continue;
      const value = JSON.parse(line) as { error?: unknown };
      if (value.error !== undefined && isErrorBody(value.error)) throw fromErrorBody(value.error);
      yield value as T;
    }
    if (!res.complete) throw new ConnectionProblemError(`the proxy at ${this.addr} closed the connection before the answer was complete`);
  }

  private open(path: string): Promise<IncomingMessage> {
    const { host, port } = parseHostPort(this.addr);
    return new Promise((resolve, reject) => {
      const req = request({ host, port, method: 'GET', path, agent: this.agent, headers: { accept: 'application/x-ndjson' } }, resolve);
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.explain(err)));
      req.end();
    });
  }

  private failure(status: number | undefined, text: string): Error {
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      return new InternalError(`unexpected answer from ${this.addr} (HTTP ${status}); is it a dbaccess proxy?`);
    }
    const error = (json as { error?: unknown }).error;
    return isErrorBody(error) ? fromErrorBody(error) : new InternalError(`HTTP ${status} from ${this.addr}`);
  }

  private send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { host, port } = parseHostPort(this.addr);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          host,
          port,
          method,
          path,
          agent: this.agent,
          timeout: 30_000,
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 500) >= 400) return reject(this.failure(res.statusCode, text));
            try {
              resolve((text ? JSON.parse(text) : {}) as T);
            } catch {
              reject(new InternalError(`unexpected answer from ${this.addr} (HTTP ${res.statusCode}); is it a dbaccess proxy?`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new ConnectionProblemError(`the proxy at ${this.addr} did not answer within 30s`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.explain(err)));
      req.end(payload);
    });
  }

  private explain(err: NodeJS.ErrnoException): Error {
    if (err instanceof ConnectionProblemError) return err;
    if (err.code && TLS_TRUST_ERRORS.has(err.code)) {
      return new AccessDeniedError(
        `the proxy at ${this.addr} presented a certificate this machine does not trust (${err.code}). ` +
          `For a cluster with a self-signed certificate, check its CA pin ('tctl status') and log in once with --insecure.`,
      );
    }
    if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'EHOSTUNREACH' || err.code === 'ECONNRESET') {
      return new ConnectionProblemError(
        `cannot reach the proxy at ${this.addr} (${err.code}); is the cluster running and the address right?`,
      );
    }
    return new ConnectionProblemError(`request to the proxy at ${this.addr} failed: ${err.message}`);
  }
}
