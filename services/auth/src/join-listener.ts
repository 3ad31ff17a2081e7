import { createServer, type Server } from 'node:https';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { AccessDeniedError, BadParameterError, DomainError, ErrorCode, parseHostPort, toErrorBody } from '#libs/common';
import { AuthRpc } from '#libs/events';
import { generateKeyPair, signHostCert } from '#libs/pki';
import type { CertAuthorities } from './cas/cert-authorities.js';
import type { TokensService } from './tokens/tokens.service.js';

/** A join request is a token and two public keys: a few KiB. */
const MAX_BODY_BYTES = 64 * 1024;
/** The whole exchange, from the first byte to the answer. */
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_CONNECTIONS = 64;
const CERT_TTL_MS = 30 * 24 * 60 * 60_000;
const CERT_REFRESH_MS = 24 * 60 * 60_000;

const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BadParameter]: 400,
  [ErrorCode.AccessDenied]: 403,
  [ErrorCode.ConnectionProblem]: 503,
};

/**
 * The auth service's own join endpoint (`auth_service.listen_addr`, Teleport's 3025): the proxies of a
 * deployment whose proxies all start together (compose, Kubernetes) join here with a proxy token, as
 * Database Services join through a proxy, so no proxy holds the bus keys or the key-encryption key.
 * It answers `POST /v1/webapi/host/join` only, the proxy's endpoint of the same name and shape; its
 * certificate comes from the host CA (a joining process checks the CA against its --ca-pin).
 */
export class JoinListener {
  private readonly logger = new Logger('auth');
  private refresh?: NodeJS.Timeout;

  private constructor(private readonly server: Server) {}

  static async start(addr: string, cas: CertAuthorities, tokens: TokensService): Promise<JoinListener> {
    const { host, port } = parseHostPort(addr, 3025);
    const server = createServer({
      ...(await ownCert(cas, host)),
      handshakeTimeout: REQUEST_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: REQUEST_TIMEOUT_MS,
    });
    // A handful of proxies join at a time: more connections than this are not proxies joining.
    server.maxConnections = MAX_CONNECTIONS;
    const listener = new JoinListener(server);
    server.on('request', (req, res) => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const fail = (err: unknown) => {
        if (!(err instanceof DomainError)) listener.logger.error(`join: ${(err as Error).stack ?? String(err)}`);
        const body = toErrorBody(err);
        answer(STATUS[body.code] ?? 500, { error: body });
      };
      if (req.method !== 'POST' || req.url !== '/v1/webapi/host/join')
        return answer(404, { error: { code: ErrorCode.NotFound, message: 'the auth service answers POST /v1/webapi/host/join only' } });
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        if (size > MAX_BODY_BYTES) return;
        size += chunk.length;
        if (size <= MAX_BODY_BYTES) return chunks.push(chunk);
        // Answered at once; the connection closes once the answer is out, the rest unread.
        res.setHeader('connection', 'close');
        res.on('finish', () => req.destroy());
        answer(413, { error: { code: ErrorCode.BadParameter, message: `a join request is at most ${MAX_BODY_BYTES} bytes` } });
      });
      req.on('end', () => {
        if (size > MAX_BODY_BYTES) return;
        void (async () => {
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            throw new BadParameterError('the join request is not JSON');
          }
          const parsed = AuthRpc.JoinRequest.safeParse(json);
          if (!parsed.success) throw new BadParameterError(`malformed join request: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
          // Only the processes that may join through the auth service itself: proxies.
          if (parsed.data.role !== 'Proxy')
            throw new AccessDeniedError('only proxies join at the auth service; others join through a proxy');
          const joined = await tokens.join(parsed.data);
          answer(200, { ...joined, cluster_name: cas.clusterName() });
        })().catch(fail);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    listener.refresh = setInterval(() => {
      void ownCert(cas, host).then(
        (ctx) => server.setSecureContext(ctx),
        (err: Error) => listener.logger.warn(`renewing the join endpoint's certificate failed: ${err.message}`),
      );
    }, CERT_REFRESH_MS);
    listener.refresh.unref();
    listener.logger.log(`joins of proxies served on ${addr}`);
    return listener;
  }

  close(): Promise<void> {
    clearInterval(this.refresh);
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A host certificate of the auth service for its listener, naming this host and the address it listens on. */
async function ownCert(cas: CertAuthorities, host: string): Promise<{ key: string; cert: string }> {
  const keys = await generateKeyPair();
  const listenName = host && host !== '0.0.0.0' && host !== '::' ? [host] : [];
  const cert = signHostCert(cas.get('host'), keys.publicKeyPem, {
    hostId: 'auth',
    systemRole: 'Auth',
    dnsNames: [...new Set([hostname(), 'auth', 'localhost', ...listenName.filter((h) => !/^[\d.:]+$/.test(h))])],
    ipAddresses: ['127.0.0.1', ...listenName.filter((h) => /^[\d.:]+$/.test(h) && h !== '127.0.0.1')],
    ttlMs: CERT_TTL_MS,
  });
  return { key: keys.privateKeyPem, cert };
}
