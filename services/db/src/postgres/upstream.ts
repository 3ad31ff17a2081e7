import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, rootCertificates, type TLSSocket } from 'node:tls';
import { serialize } from 'pg-protocol/dist/serializer.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage, DatabaseError } from 'pg-protocol/dist/messages.js';
import { ConnectionProblemError, parseHostPort } from '#libs/common';
import type { DatabaseConfig } from '#libs/config';
import { clientSecureContext } from '#libs/pki';

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
  parameters: Array<[string, string]>;
  processId: number;
  secretKey: number;
  /** ReadyForQuery's transaction status. */
  status: 'I' | 'T' | 'E';
}

/** The database refused the session with an ErrorResponse: passed on to the client as is. */
export class UpstreamRefusedError extends Error {
  constructor(readonly fields: { severity: string; code: string; message: string; detail?: string; hint?: string }) {
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
 * Opens a session to PostgreSQL: SSLRequest, TLS verified as `tls.mode` says, the client
 * certificate (pg_hba `cert` maps its CN to the user) or, for RDS, a password answering
 * AuthenticationCleartextPassword, StartupMessage, then everything up to the first ReadyForQuery.
 */
export async function connectUpstream(
  db: DatabaseConfig,
  user: string,
  database: string,
  parameters: Record<string, string>,
  auth: UpstreamAuth,
): Promise<UpstreamSession> {
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
    const mode = db.tls?.mode ?? 'verify-full';
    const cas = auth.caPems && (db.tls?.trust_system_cert_pool ? [...rootCertificates, ...auth.caPems] : auth.caPems);
    const socket = tlsConnect({
      socket: raw,
      secureContext: clientSecureContext({
        ...('certPem' in auth ? { cert: auth.certPem, key: auth.privateKeyPem } : {}),
        ...(cas ? { ca: cas } : {}),
      }),
      servername: db.tls?.server_name ?? host,
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

function handshake(socket: TLSSocket, uri: string, auth: UpstreamAuth): Promise<UpstreamSession> {
  return new Promise((resolve, reject) => {
    const parser = new Parser();
    const session: Omit<UpstreamSession, 'status'> = { socket, parameters: [], processId: 0, secretKey: 0 };
    let passwordSent = false;
    const fail = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onMessage = (msg: BackendMessage) => {
      switch (msg.name) {
        case 'authenticationOk':
          return;
        case 'authenticationCleartextPassword':
          if (!('password' in auth) || passwordSent) break;
          passwordSent = true;
          return void socket.write(serialize.password(auth.password));
        case 'parameterStatus': {
          const p = msg as unknown as { parameterName: string; parameterValue: string };
          session.parameters.push([p.parameterName, p.parameterValue]);
          return;
        }
        case 'backendKeyData': {
          const k = msg as unknown as { processID: number; secretKey: number };
          session.processId = k.processID;
          session.secretKey = k.secretKey;
          return;
        }
        case 'readyForQuery':
          cleanup();
          // Nothing follows until the client speaks; the relay resumes the socket.
          socket.pause();
          return resolve({ ...session, status: (msg as unknown as { status: 'I' | 'T' | 'E' }).status });
        case 'error': {
          const e = msg as unknown as DatabaseError;
          if (passwordSent && 'password' in auth && (e.code === '28P01' || e.code === '28000')) {
            cleanup();
            return void auth.rejected(e.message).then(reject, reject);
          }
          return fail(
            new UpstreamRefusedError({
              severity: e.severity ?? 'FATAL',
              code: e.code ?? 'XX000',
              message: e.message,
              ...(e.detail ? { detail: e.detail } : {}),
              ...(e.hint ? { hint: e.hint } : {}),
            }),
          );
        }
        case 'notice':
          return;
      }
      const asked = msg.name.replace('authentication', '').toLowerCase() || msg.name;
      return fail(
        new ConnectionProblemError(
          'password' in auth
            ? `the database at ${uri} asked for ${asked} authentication instead of a password; enable IAM database authentication on it`
            : `the database at ${uri} asked for ${asked} authentication; ` +
                `configure pg_hba.conf with 'hostssl all all ::/0 cert' and 'hostssl all all 0.0.0.0/0 cert' first`,
        ),
      );
    };
    const onData = (chunk: Buffer) => parser.parse(chunk, onMessage);
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
