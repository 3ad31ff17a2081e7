import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { serialize } from 'pg-protocol/dist/serializer.js';
import { ConnectionProblemError } from '#libs/common';
import { serverName } from '#libs/pki';
import { BackendType, FrameScanner, parseErrorFields, ProtocolViolationError, type ScannedFrame } from '#libs/pg-wire';

/** Where one session goes and with what: the proxy, the user's database certificate, the route. */
export interface PingTarget {
  host: string;
  port: number;
  /** CAs that sign the proxy's certificate. */
  ca: string[];
  cert: string;
  key: string;
  /** false only with tsh --insecure. */
  verify: boolean;
  user?: string;
  database?: string;
}

// The answers to a startup and to `SELECT 1` are a few hundred bytes; a longer message is no server's.
const MAX_MESSAGE = 64 * 1024;
// AuthenticationOk: 'R', Int32 0. Any other code asks for a password, which the proxy never does.
const AUTHENTICATION_OK = 0;
const CLOSE_GRACE_MS = 5_000;

/**
 * One session as `tsh db connect` opens it, timed end to end by the caller: TCP, SSLRequest, TLS with
 * the database certificate (verify-full), StartupMessage, `SELECT 1`, Terminate. Gives up when
 * `signal` aborts; the connection is closed either way.
 */
export async function pingPostgres(t: PingTarget, signal: AbortSignal): Promise<void> {
  const sockets: Socket[] = [];
  const giveUp = () => sockets.forEach((s) => s.destroy());
  signal.addEventListener('abort', giveUp, { once: true });
  let ended = false;
  try {
    const raw = await step(signal, connectTcp(t.host, t.port, sockets));
    raw.write(serialize.requestSsl());
    if ((await step(signal, firstByte(raw))) !== 0x53) {
      throw new ConnectionProblemError(`the proxy at ${t.host}:${t.port} refused TLS`);
    }
    const tls = await step(signal, upgrade(raw, t, sockets));
    const frames = new BackendFrames(tls);
    tls.write(serialize.startup({ ...(t.user ? { user: t.user } : {}), ...(t.database ? { database: t.database } : {}) }));
    await step(signal, untilReady(frames, 'startup'));
    tls.write(serialize.query('SELECT 1;'));
    await step(signal, untilReady(frames, 'SELECT 1'));
    tls.end(serialize.end());
    ended = true;
    // The proxy closes after Terminate; one that does not is not waited for.
    setTimeout(giveUp, CLOSE_GRACE_MS).unref();
  } finally {
    signal.removeEventListener('abort', giveUp);
    if (!ended) giveUp();
  }
}

/** `work`, or a rejection once `signal` aborts (the sockets are destroyed by then). */
function step<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(timedOut(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(timedOut(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function timedOut(signal: AbortSignal): Error {
  return signal.reason instanceof Error && signal.reason.name !== 'TimeoutError'
    ? signal.reason
    : new ConnectionProblemError('no answer from the proxy in time');
}

function connectTcp(host: string, port: number, sockets: Socket[]): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port }, () => resolve(socket));
    sockets.push(socket);
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ConnectionProblemError(`cannot reach the proxy at ${host}:${port}: ${err.code ?? err.message}`)),
    );
  });
}

/** The one-byte answer to SSLRequest; anything after it before the handshake is injected plaintext (CVE-2021-23222). */
function firstByte(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('data', (chunk: Buffer) => {
      if (chunk.length !== 1) reject(new ProtocolViolationError(`the proxy answered SSLRequest with ${chunk.length} bytes, not 1`));
      else resolve(chunk[0]!);
    });
    socket.once('close', () => reject(new ConnectionProblemError('the proxy closed the connection before TLS')));
  });
}

function upgrade(raw: Socket, t: PingTarget, sockets: Socket[]): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket: raw,
      ...serverName(t.host), // checked against the certificate's names (verify-full)
      ca: t.ca,
      cert: t.cert,
      key: t.key,
      rejectUnauthorized: t.verify,
    });
    sockets.push(tls);
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', (err) => reject(new ConnectionProblemError(`TLS with the proxy at ${t.host}:${t.port} failed: ${err.message}`)));
  });
}

/** Reads server messages until ReadyForQuery; an ErrorResponse fails the step with the server's words. */
async function untilReady(frames: BackendFrames, what: string): Promise<void> {
  for (;;) {
    const frame = await frames.next();
    switch (frame.type) {
      case BackendType.ReadyForQuery:
        return;
      case BackendType.ErrorResponse: {
        const f = parseErrorFields(frame.payload!);
        throw new ConnectionProblemError(`${f.S ?? 'ERROR'}: ${f.M ?? 'unknown error'}${f.C ? ` (SQLSTATE ${f.C})` : ''}`);
      }
      case BackendType.Authentication:
        if (frame.payload!.length < 4 || frame.payload!.readInt32BE(0) !== AUTHENTICATION_OK) {
          throw new ProtocolViolationError(`the proxy asked for a password at ${what}: only certificates are used`);
        }
        break;
      default:
        // ParameterStatus, BackendKeyData, NoticeResponse, RowDescription, DataRow, CommandComplete...
        break;
    }
  }
}

/** Server messages from a stream, one at a time, each at most MAX_MESSAGE bytes. */
class BackendFrames {
  private readonly queue: ScannedFrame[] = [];
  private failure?: Error;
  private wake?: () => void;

  constructor(stream: TLSSocket) {
    const scanner = new FrameScanner({ phase: 'regular', maxFrameLength: MAX_MESSAGE, inspect: () => true });
    stream.on('data', (chunk: Buffer) => {
      try {
        this.queue.push(...scanner.push(chunk));
      } catch (err) {
        this.fail(err as Error);
        stream.destroy();
      }
      this.wake?.();
    });
    stream.on('error', (err) => this.fail(new ConnectionProblemError(`the connection to the proxy broke: ${err.message}`)));
    stream.on('close', () => this.fail(new ConnectionProblemError('the proxy closed the connection')));
  }

  async next(): Promise<ScannedFrame> {
    for (;;) {
      const frame = this.queue.shift();
      if (frame) return frame;
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake?.();
  }
}
