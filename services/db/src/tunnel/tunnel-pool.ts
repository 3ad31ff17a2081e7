import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Logger } from '@nestjs/common';
import { parseHostPort } from '#libs/common';
import { clientSecureContext, INTERNAL_SERVER_NAME, tunnelServerName } from '#libs/pki';
import { checkProxyIdentity, type AgentTls } from '#libs/join';

/** The ALPN protocol of tunnels, as the proxy routes it. */
export const TUNNEL_ALPN = 'dbaccess-tunnel';

const MAX_BACKOFF_MS = 5_000;
const DIAL_TIMEOUT_MS = 10_000;

/**
 * Idle tunnels to one proxy address: `size` TLS connections this Database Service dialed, each waiting
 * for the proxy to start a session on it. A tunnel the proxy uses is handed to `onSession` and replaced
 * at once, so the proxy always has one ready; a lost one is redialed with backoff. Each tunnel fills a
 * slot (0 to size - 1); when `slotted`, it names its slot to the proxy (tunnelServerName), whose first
 * process hands it to its process `slot` modulo their number: every process gets its share.
 */
export class TunnelPool {
  private readonly logger = new Logger('db');
  /** Idle tunnels, with their slots. */
  private readonly sockets = new Map<TLSSocket, number>();
  /** Slots with a tunnel idle or being dialed. */
  private readonly filled = new Set<number>();
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
    private readonly slotted = false,
  ) {}

  start(): void {
    this.fill();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    for (const socket of this.sockets.keys()) socket.destroy();
    this.sockets.clear();
  }

  private fill(): void {
    for (let slot = 0; slot < this.size && !this.stopped; slot++) if (!this.filled.has(slot)) this.dial(slot);
  }

  private dial(slot: number): void {
    const { host, port } = parseHostPort(this.addr, 3080);
    const creds = this.tls();
    // Resumed only with the certificate it was made with: after a renewal the proxy sees the new one.
    const resume = this.session?.certPem === creds.certPem ? this.session.data : undefined;
    this.filled.add(slot);
    const socket = tlsConnect({
      host,
      port,
      secureContext: clientSecureContext({ cert: creds.certPem, key: creds.privateKeyPem, ca: creds.hostCas }),
      ALPNProtocols: [TUNNEL_ALPN],
      servername: this.slotted ? tunnelServerName(slot) : INTERNAL_SERVER_NAME,
      checkServerIdentity: checkProxyIdentity,
      timeout: DIAL_TIMEOUT_MS,
      ...(resume ? { session: resume } : {}),
    });
    socket.on('session', (data: Buffer) => (this.session = { certPem: creds.certPem, data }));
    let connected = false;
    socket.setNoDelay(true);
    socket.once('timeout', () => socket.destroy(new Error('timed out')));
    socket.once('secureConnect', () => {
      // Stopped while it was dialed: nobody would replace it or close it.
      if (this.stopped) return void socket.destroy();
      connected = true;
      socket.setTimeout(0);
      socket.setKeepAlive(true, 30_000);
      if (this.failures) this.logger.log(`tunnels to the proxy at ${this.addr} are up again`);
      this.failures = 0;
      this.sockets.set(socket, slot);
      socket.on('readable', onFirstBytes);
      this.fill();
    });
    const onFirstBytes = () => {
      // At the end of the stream there is nothing to read: 'close' follows.
      if (socket.readableLength === 0) return;
      // The proxy wrote a session header: the tunnel is a session now.
      socket.off('readable', onFirstBytes);
      this.sockets.delete(socket);
      this.filled.delete(slot);
      socket.off('close', onClose);
      this.onSession(socket);
      this.fill();
    };
    const onClose = () => {
      socket.off('readable', onFirstBytes);
      this.sockets.delete(socket);
      this.filled.delete(slot);
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
