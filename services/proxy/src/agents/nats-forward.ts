import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Logger } from '@nestjs/common';
import { parseHostPort } from '#libs/common';
import { serverName } from '#libs/pki';

/** The server's greeting is one line; a longer one is not NATS. */
const MAX_INFO_BYTES = 64 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;

/** Where a NATS server URL points: `nats://host:port`, `tls://host:port` or `host:port`. */
function target(url: string): { host: string; port: number; tls: boolean } {
  const tls = url.startsWith('tls://');
  const { host, port } = parseHostPort(url.replace(/^[a-z]+:\/\//, ''), 4222);
  return { host, port, tls };
}

/**
 * The server's first line, INFO, marked `tls_required`: the client's side of this connection is TLS
 * (to the proxy), which a NATS client must be told; the rest of the greeting is the server's own.
 */
export function markInfoTls(line: string): string {
  const match = /^INFO\s+(\{.*\})\s*$/.exec(line);
  if (!match) throw new Error('the NATS server did not greet with INFO');
  return `INFO ${JSON.stringify({ ...(JSON.parse(match[1]!) as object), tls_required: true })}\r\n`;
}

/**
 * Carries a Database Service's NATS connection, which arrived on the proxy's port inside TLS, to the
 * cluster's NATS. The proxy adds no authority: NATS checks the process's own credentials.
 */
export function forwardToNats(client: TLSSocket, servers: string[]): void {
  const logger = new Logger('proxy');
  const servedBy = servers[Math.floor(Math.random() * servers.length)]!;
  const { host, port, tls } = target(servedBy);
  const upstream: Socket = tls ? tlsConnect({ port, ...serverName(host) }) : tcpConnect({ host, port });
  upstream.setNoDelay(true);
  client.setNoDelay(true);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  const timer = setTimeout(close, CONNECT_TIMEOUT_MS);
  upstream.on('error', (err) => {
    logger.warn(`a Database Service's bus connection to ${servedBy} failed: ${err.message}`);
    close();
  });
  client.on('error', close);
  client.once('close', close);
  upstream.once('close', close);

  let greeting = Buffer.alloc(0);
  const onGreeting = (chunk: Buffer) => {
    greeting = Buffer.concat([greeting, chunk]);
    const end = greeting.indexOf('\r\n');
    if (end < 0) {
      if (greeting.length > MAX_INFO_BYTES) close();
      return;
    }
    upstream.off('data', onGreeting);
    upstream.pause();
    clearTimeout(timer);
    try {
      client.write(markInfoTls(greeting.subarray(0, end).toString('utf8')));
    } catch (err) {
      logger.warn(`${servedBy}: ${(err as Error).message}`);
      return close();
    }
    const rest = greeting.subarray(end + 2);
    if (rest.length) client.write(rest);
    upstream.pipe(client);
    client.pipe(upstream);
  };
  upstream.on('data', onGreeting);
}
