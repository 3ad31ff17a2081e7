import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { serialize } from 'pg-protocol/dist/serializer.js';
import { ConnectionProblemError, parseHostPort } from '#libs/common';
import type { DatabaseConfig } from '#libs/config';
import { BackendType, FrameScanner, parseErrorFields } from '#libs/pg-wire';
import { clientSecureContext, serverName, trustedRoots } from '#libs/pki';

export interface UpstreamTls {
  /** The client certificate for the database user, signed by the db_client CA, and its key. */
  certPem: string;
  privateKeyPem: string;
  /** CAs for the server's certificate: ca_cert_file's, else the cluster's db CA. */
  caPems: string[];
}

/** RDS and Aurora: TLS without a client certificate, then the IAM token as a cleartext password. */
export interface UpstreamPassword {
  password: string;
  /** CAs for the server's certificate (ca_cert_file's); without them, Node's default CAs. */
  caPems?: string[];
  /** The error to report when the database refuses the password. */
  rejected(databaseMessage: string): Promise<Error>;
}

export type UpstreamAuth = UpstreamTls | UpstreamPassword;

/** How long the database may take to accept, negotiate TLS and authenticate. */
const CONNECT_TIMEOUT_MS = 15_000;

export interface UpstreamSession {
  socket: TLSSocket;
  /** The ParameterStatus and NoticeResponse messages after authentication, as the database sent them, in order. */
  startupFrames: Buffer[];
  processId: number;
  secretKey: number;
  /** ReadyForQuery's transaction status. */
  status: 'I' | 'T' | 'E';
}

/** The database refused the session with an ErrorResponse: passed on to the client as is (`frame`, every field). */
export class UpstreamRefusedError extends Error {
  constructor(
    readonly fields: { severity: string; code: string; message: string; detail?: string; hint?: string },
    readonly frame?: Buffer,
  ) {
    super(fields.message);
  }
}

function readByte(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      cleanup();
      if (chunk.length > 1) socket.unshift(chunk.subarray(1));
      resolve(chunk[0]!);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onEnd = () => onError(new Error('the database closed the connection'));
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
    };
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('end', onEnd);
  });
}

function timedOut(host: string, port: number): ConnectionProblemError {
  return new ConnectionProblemError(
    `timed out after ${CONNECT_TIMEOUT_MS / 1000}s connecting to the database at ${host}:${port}: check that this Database Service ` +
      `can reach it (firewall, security groups, VPC routing; try 'nc -zv ${host} ${port}' from its host)`,
  );
}

function tcp(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(timedOut(host, port)), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err instanceof ConnectionProblemError
          ? err
          : new ConnectionProblemError(`cannot reach the database at ${host}:${port} (${err.code ?? err.message}); is it running?`),
      );
    });
  });
}

/**
 * The part of a connection to PostgreSQL that depends on no one's identity: TCP, then an SSLRequest
 * answered 'S'. PostgreSQL starts the connection's backend process here, the slowest part of a new
 * connection on a small machine, so a session dials while the broker confirms it (see SessionIntake).
 */
export async function dialUpstream(db: DatabaseConfig): Promise<Socket> {
  const { host, port } = parseHostPort(db.uri);
  const raw = await tcp(host, port);
  const timer = setTimeout(() => raw.destroy(timedOut(host, port)), CONNECT_TIMEOUT_MS);
  try {
    raw.write(serialize.requestSsl());
    const answer = await readByte(raw);
    if (answer !== 0x53 /* 'S' */) {
      throw new ConnectionProblemError(
        `the database at ${db.uri} does not accept TLS; set ssl = on in its postgresql.conf (see tctl auth sign --format=db)`,
      );
    }
    return raw;
  } catch (err) {
    raw.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a connection dialed for a session that will not use it; one that failed needs nothing. */
export function discardDialed(dialed: Promise<Socket> | undefined): void {
  void dialed?.then(
    (socket) => socket.destroy(),
    () => undefined,
  );
}

/**
 * Opens a session to PostgreSQL on a connection `dialed` (dialUpstream) or dialed now: TLS verified as
 * `tls.mode` says, the client certificate (pg_hba `cert` maps its CN to the user) or, for RDS, a
 * password answering AuthenticationCleartextPassword, StartupMessage, then everything up to the first
 * ReadyForQuery.
 */
export async function connectUpstream(
  db: DatabaseConfig,
  user: string,
  database: string,
  parameters: Record<string, string>,
  auth: UpstreamAuth,
  dialed?: Promise<Socket>,
): Promise<UpstreamSession> {
  const { host, port } = parseHostPort(db.uri);
  let raw = await (dialed ?? dialUpstream(db));
  // The database may have closed a connection dialed a while ago (its authentication_timeout).
  if (raw.destroyed || raw.readableEnded) raw = await dialUpstream(db);
  const timer = setTimeout(() => raw.destroy(timedOut(host, port)), CONNECT_TIMEOUT_MS);
  try {
    const mode = db.tls?.mode ?? 'verify-full';
    // Without a CA of its own (RDS, Aurora), the database's certificate is checked against the system's roots.
    const cas = auth.caPems ? (db.tls?.trust_system_cert_pool ? [...trustedRoots(), ...auth.caPems] : auth.caPems) : trustedRoots();
    const socket = tlsConnect({
      socket: raw,
      secureContext: clientSecureContext({
        ...('certPem' in auth ? { cert: auth.certPem, key: auth.privateKeyPem } : {}),
        ca: cas,
      }),
      ...serverName(db.tls?.server_name ?? host),
      rejectUnauthorized: mode !== 'insecure',
      ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', (err: Error) =>
        reject(
          new ConnectionProblemError(
            `TLS with the database at ${db.uri} failed: ${err.message} (tls.mode ${mode})` +
              ('password' in auth && !auth.caPems
                ? '; for RDS and Aurora set tls.ca_cert_file to the RDS CA bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)'
                : ''),
          ),
        ),
      );
    });
    socket.write(serialize.startup({ ...parameters, user, database }));
    return await handshake(socket, db.uri, auth);
  } catch (err) {
    raw.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** A server message during the handshake is small; a bigger one is not PostgreSQL speaking. */
const HANDSHAKE_MAX_FRAME = 1024 * 1024;

// Authentication ('R') request codes other than Ok (0) and CleartextPassword (3), as we name them to the operator.
const AUTH_METHODS: Record<number, string> = { 2: 'Kerberos', 5: 'MD5 password', 7: 'GSSAPI', 9: 'SSPI', 10: 'SASL (SCRAM)' };

/** One whole server message: type byte, length, payload. */
function rawFrame(type: number, payload: Buffer): Buffer {
  const header = Buffer.allocUnsafe(5);
  header[0] = type;
  header.writeUInt32BE(payload.length + 4, 1);
  return Buffer.concat([header, payload]);
}

function handshake(socket: TLSSocket, uri: string, auth: UpstreamAuth): Promise<UpstreamSession> {
  return new Promise((resolve, reject) => {
    const scanner = new FrameScanner({ phase: 'regular', maxFrameLength: HANDSHAKE_MAX_FRAME, inspect: () => true });
    const session: Omit<UpstreamSession, 'status'> = { socket, startupFrames: [], processId: 0, secretKey: 0 };
    let passwordSent = false;
    /** Bytes of the stream before the current chunk, and up to the end of the last whole frame. */
    let chunkStart = 0;
    let framesEnd = 0;
    const fail = (err: Error) => {
      cleanup();
      reject(err);
    };
    const unexpected = (asked: string) =>
      fail(
        new ConnectionProblemError(
          'password' in auth
            ? `the database at ${uri} asked for ${asked} authentication instead of a password; enable IAM database authentication on it`
            : `the database at ${uri} asked for ${asked} authentication; ` +
                `configure pg_hba.conf with 'hostssl all all ::/0 cert' and 'hostssl all all 0.0.0.0/0 cert' first`,
        ),
      );
    /** True once the handshake is over (done or failed). */
    const onFrame = (type: number, payload: Buffer, chunk: Buffer): boolean => {
      switch (type) {
        case BackendType.Authentication: {
          const code = payload.length >= 4 ? payload.readInt32BE(0) : -1;
          if (code === 0) return false;
          if (code === 3 && 'password' in auth && !passwordSent) {
            passwordSent = true;
            socket.write(serialize.password(auth.password));
            return false;
          }
          unexpected(code === 3 ? 'a second password' : (AUTH_METHODS[code] ?? `an unknown (${code})`));
          return true;
        }
        case BackendType.ParameterStatus:
        case BackendType.NoticeResponse:
          // Passed on as sent, notices too (e.g. a bad setting of ALTER DATABASE ... SET): the client sees them.
          session.startupFrames.push(rawFrame(type, payload));
          return false;
        case BackendType.BackendKeyData:
          if (payload.length < 8) break;
          session.processId = payload.readInt32BE(0);
          session.secretKey = payload.readInt32BE(4);
          return false;
        case BackendType.ReadyForQuery: {
          cleanup();
          // Nothing should follow until the client speaks; if something did, it stays for the relay.
          const rest = chunk.subarray(framesEnd - chunkStart);
          if (rest.length) socket.unshift(rest);
          socket.pause();
          resolve({ ...session, status: String.fromCharCode(payload[0] ?? 0x49) as 'I' | 'T' | 'E' });
          return true;
        }
        case BackendType.ErrorResponse: {
          const f = parseErrorFields(payload);
          if (passwordSent && 'password' in auth && (f.C === '28P01' || f.C === '28000')) {
            cleanup();
            void auth.rejected(f.M ?? '').then(reject, reject);
            return true;
          }
          const fields = {
            severity: f.V ?? f.S ?? 'FATAL',
            code: f.C ?? 'XX000',
            message: f.M ?? 'the database refused the session',
            ...(f.D ? { detail: f.D } : {}),
            ...(f.H ? { hint: f.H } : {}),
          };
          fail(new UpstreamRefusedError(fields, rawFrame(type, payload)));
          return true;
        }
      }
      fail(
        new ConnectionProblemError(
          `the database at ${uri} sent an unexpected message (${String.fromCharCode(type)}) while the session started`,
        ),
      );
      return true;
    };
    const onData = (chunk: Buffer) => {
      try {
        for (const frame of scanner.push(chunk)) {
          framesEnd += 5 + frame.length;
          if (onFrame(frame.type!, frame.payload!, chunk)) return;
        }
      } catch (err) {
        return fail(
          new ConnectionProblemError(
            `the database at ${uri} sent a malformed message while the session started: ${(err as Error).message}`,
          ),
        );
      }
      chunkStart += chunk.length;
    };
    const onEnd = () => fail(new ConnectionProblemError(`the database at ${uri} closed the connection during authentication`));
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('end', onEnd);
    };
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('end', onEnd);
  });
}

/** A CancelRequest to the database, over a plain connection as libpq sends it. */
export async function cancelUpstream(uri: string, processId: number, secretKey: number): Promise<void> {
  const { host, port } = parseHostPort(uri);
  const socket = await tcp(host, port);
  socket.end(serialize.cancel(processId, secretKey));
  socket.on('error', () => {});
}
