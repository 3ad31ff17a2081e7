import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Logger } from '@nestjs/common';
import { parseHostPort } from '#libs/common';
import { clientSecureContext, INTERNAL_SERVER_NAME } from '#libs/pki';
import { checkProxyIdentity, type AgentTls } from '#libs/join';

/** The ALPN protocol of tunnels, as the proxy routes it. */
export const TUNNEL_ALPN = 'dbaccess-tunnel';

const MAX_BACKOFF_MS = 5_000;
const DIAL_TIMEOUT_MS = 10_000;

/**
 * Idle tunnels to one proxy address: `size` TLS connections this Database Service dialed, each waiting
 * for the proxy to start a session on it. A tunnel the proxy uses is handed to `onSession` and replaced
 * at once, so the proxy always has one ready; a lost one is redialed with backoff.
 */
export class TunnelPool {
  private readonly logger = new Logger('db');
  private readonly sockets = new Set<TLSSocket>();
  private dialing = 0;
  private failures = 0;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  /** The last TLS session the proxy offered: new tunnels resume it instead of a full handshake. */
  private session?: { certPem: string; data: Buffer };

  constructor(
    readonly addr: string,
    private readonly size: number,
    private readonly tls: () => AgentTls,
    private readonly onSession: (socket: TLSSocket) => void,
  ) {}

  start(): void {
    this.fill();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private fill(): void {
    while (!this.stopped && this.sockets.size + this.dialing < this.size) this.dial();
  }

  private dial(): void {
    const { host, port } = parseHostPort(this.addr, 3080);
    const creds = this.tls();
    // Resumed only with the certificate it was made with: after a renewal the proxy sees the new one.
    const resume = this.session?.certPem === creds.certPem ? this.session.data : undefined;
    this.dialing++;
    const socket = tlsConnect({
      host,
      port,
      secureContext: clientSecureContext({ cert: creds.certPem, key: creds.privateKeyPem, ca: creds.hostCas }),
      ALPNProtocols: [TUNNEL_ALPN],
      servername: INTERNAL_SERVER_NAME,
      checkServerIdentity: checkProxyIdentity,
      timeout: DIAL_TIMEOUT_MS,
      ...(resume ? { session: resume } : {}),
    });
    socket.on('session', (data: Buffer) => (this.session = { certPem: creds.certPem, data }));
    let connected = false;
    socket.setNoDelay(true);
    socket.once('timeout', () => socket.destroy(new Error('timed out')));
    socket.once('secureConnect', () => {
      connected = true;
      this.dialing--;
      socket.setTimeout(0);
      socket.setKeepAlive(true, 30_000);
      if (this.failures) this.logger.log(`tunnels to the proxy at ${this.addr} are up again`);
      this.failures = 0;
      this.sockets.add(socket);
      socket.on('readable', onFirstBytes);
      this.fill();
    });
    const onFirstBytes = () => {
      // At the end of the stream there is nothing to read: 'close' follows.
      if (socket.readableLength === 0) return;
      // The proxy wrote a session header: the tunnel is a session now.
      socket.off('readable', onFirstBytes);
      this.sockets.delete(socket);
      socket.off('close', onClose);
      this.onSession(socket);
      this.fill();
    };
    const onClose = () => {
      socket.off('readable', onFirstBytes);
      if (!connected) this.dialing--;
      this.sockets.delete(socket);
      if (this.stopped) return;
      if (!connected) this.failed(error);
      else this.fill();
    };
    let error: Error | undefined;
    socket.on('error', (err) => (error = err));
    socket.once('close', onClose);
  }

  private failed(err: Error | undefined): void {
    if (this.failures++ === 0) this.logger.warn(`cannot open a tunnel to the proxy at ${this.addr}: ${err?.message ?? 'closed'}; retrying`);
    const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(this.failures, 6));
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.fill(), delay);
    this.retry.unref();
  }
}
