// A local stand-in for an RDS/Aurora PostgreSQL endpoint with IAM authentication. Like RDS it takes
// TLS (its certificate from its own "RDS CA"), asks for a cleartext password and accepts only a
// correctly signed, unexpired IAM token for this host, port, region and user, from a principal allowed
// rds-db:connect, for a user granted rds_iam; then it relays the session to a real PostgreSQL. Every
// refusal is RDS's one FATAL 28P01; why it refused is kept in `rejections` for the tests.
import { connect as tcpConnect, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket, type ConnectionOptions } from 'node:tls';
import { backend, readStartupFrame } from '#libs/pg-wire';
import { createCa, generateKeyPair, signDbServerCert } from '#libs/pki';
import type { Iam } from './iam.js';
import { canonicalRequest, parseAmzDate, parseCredential, sameSignature, sha256Hex, signature } from './sigv4.js';

/** RDS accepts tokens for at most 15 minutes after signing. */
const MAX_EXPIRES_S = 900;

export interface RdsBackend {
  port: number;
  /** TLS options for connecting to the real PostgreSQL as `user` (its pg_hba wants a client certificate). */
  tlsFor(user: string): Promise<ConnectionOptions>;
  /** Whether `user` is a member of rds_iam in that PostgreSQL. */
  hasRdsIam(user: string): Promise<boolean>;
}

export interface RdsOptions {
  iam: Iam;
  region: string;
  backend: RdsBackend;
  /** Principals allowed rds-db:connect on this database: IAM user ARNs, or role ARNs for their sessions. */
  allowConnect: string[];
  /** How far this endpoint's clock runs ahead of the Database Service's (to see tokens expire). */
  clockSkewMs?: number;
  /** Where it listens, and the host name of its endpoint (default: 127.0.0.1, localhost). */
  listen?: { address: string; name: string };
}

export interface RdsConnectionLog {
  user: string;
  accessKeyId?: string;
  principal?: string;
  accepted: boolean;
  reason?: string;
}

/** An "RDS CA" and a server certificate it signed for `hosts`. */
export async function rdsCertificates(hosts = ['localhost', '127.0.0.1']): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const ca = await createCa('db', 'rds-stand-in');
  const keys = await generateKeyPair();
  const certPem = signDbServerCert(ca, keys.publicKeyPem, { hosts, ttlMs: 24 * 3_600_000 });
  return { caPem: ca.certPem, certPem, keyPem: keys.privateKeyPem };
}

function startupParameters(payload: Buffer): Record<string, string> {
  const parts = payload.subarray(4).toString('utf8').split('\0');
  const params: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length && parts[i]; i += 2) params[parts[i]!] = parts[i + 1]!;
  return params;
}

/** PasswordMessage: 'p', int32 length, the password and a NUL. */
function readPassword(socket: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 5) return;
      if (buffered[0] !== 0x70) return done(new Error(`expected a PasswordMessage, got type ${buffered[0]}`));
      const length = buffered.readInt32BE(1);
      if (buffered.length < 1 + length) return;
      done(undefined, buffered.subarray(5, 1 + length - 1).toString('utf8'));
    };
    const done = (err?: Error, password?: string) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      if (err) reject(err);
      else resolve(password!);
    };
    const onEnd = () => done(new Error('the client closed the connection before the password'));
    socket.on('data', onData);
    socket.once('end', onEnd);
  });
}

export class RdsStandIn {
  readonly connections: RdsConnectionLog[] = [];
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  private constructor(
    private readonly opts: RdsOptions,
    private readonly tls: { certPem: string; keyPem: string },
  ) {}

  static async start(opts: RdsOptions, tls: { certPem: string; keyPem: string }): Promise<RdsStandIn> {
    const rds = new RdsStandIn(opts, tls);
    rds.server = createTcpServer((socket) => {
      rds.sockets.add(socket);
      socket.once('close', () => rds.sockets.delete(socket));
      void rds.serve(socket).catch(() => socket.destroy());
    });
    await new Promise<void>((resolve) => rds.server.listen(0, opts.listen?.address ?? '127.0.0.1', resolve));
    rds.port = (rds.server.address() as { port: number }).port;
    return rds;
  }

  /** The endpoint clients name, and that tokens must be signed for. */
  get endpoint(): string {
    return `${this.opts.listen?.name ?? 'localhost'}:${this.port}`;
  }

  stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async serve(raw: Socket): Promise<void> {
    raw.on('error', () => raw.destroy());
    await readStartupFrame(raw); // SSLRequest
    raw.write('S');
    const socket = new TLSSocket(raw, { isServer: true, cert: this.tls.certPem, key: this.tls.keyPem });
    socket.on('error', () => socket.destroy());
    await new Promise<void>((resolve) => socket.once('secure', resolve));
    const startup = await readStartupFrame(socket);
    const user = startupParameters(startup).user ?? '';
    // AuthenticationCleartextPassword: 'R', int32 8, int32 3
    socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
    socket.resume();
    const token = await readPassword(socket);
    const log = await this.check(token, user);
    this.connections.push(log);
    if (!log.accepted) {
      socket.end(backend.errorResponse({ severity: 'FATAL', code: '28P01', message: `PAM authentication failed for user "${user}"` }));
      return;
    }
    await this.relay(socket, startup, user);
  }

  /** What RDS checks of an IAM token before it lets `user` in. */
  private async check(token: string, user: string): Promise<RdsConnectionLog> {
    const refuse = (reason: string, extra: Partial<RdsConnectionLog> = {}): RdsConnectionLog => ({
      user,
      accepted: false,
      reason,
      ...extra,
    });
    const at = token.indexOf('/?');
    if (at < 0) return refuse('not an IAM token');
    const hostPort = token.slice(0, at);
    const query = [...new URLSearchParams(token.slice(at + 2)).entries()];
    const get = (name: string) => query.find(([k]) => k === name)?.[1];
    if (hostPort !== this.endpoint) return refuse(`signed for ${hostPort}, not ${this.endpoint}`);
    if (get('Action') !== 'connect') return refuse('Action is not connect');
    if (get('DBUser') !== user) return refuse(`signed for DBUser ${get('DBUser')}, not ${user}`);
    if (get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return refuse('not AWS4-HMAC-SHA256');
    const scope = parseCredential(get('X-Amz-Credential') ?? '');
    if (!scope) return refuse('malformed X-Amz-Credential');
    const key = this.opts.iam.key(scope.accessKeyId);
    const who = { accessKeyId: scope.accessKeyId, ...(key ? { principal: key.arn } : {}) };
    if (!key) return refuse('unknown access key', who);
    if (scope.service !== 'rds-db') return refuse(`signed for service ${scope.service}`, who);
    if (scope.region !== this.opts.region) return refuse(`signed for region ${scope.region}, not ${this.opts.region}`, who);
    const amzDate = get('X-Amz-Date') ?? '';
    const signedAt = parseAmzDate(amzDate);
    const expires = Number(get('X-Amz-Expires'));
    if (!signedAt || amzDate.slice(0, 8) !== scope.date) return refuse('bad X-Amz-Date', who);
    if (!Number.isInteger(expires) || expires <= 0 || expires > MAX_EXPIRES_S) return refuse(`bad X-Amz-Expires ${expires}`, who);
    const now = Date.now() + (this.opts.clockSkewMs ?? 0);
    if (now > signedAt.getTime() + expires * 1000) return refuse('token expired', who);
    if (signedAt.getTime() > now + 5 * 60_000) return refuse('token signed in the future', who);
    if (key.sessionToken && get('X-Amz-Security-Token') !== key.sessionToken) return refuse('wrong session token', who);
    if (key.expires && key.expires.getTime() < now) return refuse('temporary credentials expired', who);
    const signedHeaders = (get('X-Amz-SignedHeaders') ?? '').split(';');
    if (!signedHeaders.includes('host')) return refuse('host not signed', who);
    const canonical = canonicalRequest({
      method: 'GET',
      path: '/',
      query: query.filter(([k]) => k !== 'X-Amz-Signature'),
      headers: { host: hostPort },
      signedHeaders,
      payloadHash: sha256Hex(''),
    });
    if (!sameSignature(signature(key.secretAccessKey, scope, amzDate, canonical), get('X-Amz-Signature') ?? ''))
      return refuse('signature does not match', who);
    if (!this.opts.allowConnect.includes(key.roleArn ?? key.arn)) return refuse(`${key.arn} is not allowed rds-db:connect`, who);
    if (!(await this.opts.backend.hasRdsIam(user))) return refuse(`${user} is not granted rds_iam`, who);
    return { user, accepted: true, ...who };
  }

  /** The session goes on in the real PostgreSQL: its AuthenticationOk onwards, then both ways. */
  private async relay(client: TLSSocket, startup: Buffer, user: string): Promise<void> {
    const raw = tcpConnect({ host: '127.0.0.1', port: this.opts.backend.port });
    this.sockets.add(raw);
    raw.once('close', () => this.sockets.delete(raw));
    raw.on('error', () => client.destroy());
    await new Promise<void>((resolve) => raw.once('connect', resolve));
    // SSLRequest: int32 8, int32 80877103; PostgreSQL answers 'S'.
    const sslRequest = Buffer.alloc(8);
    sslRequest.writeInt32BE(8, 0);
    sslRequest.writeInt32BE(80877103, 4);
    raw.write(sslRequest);
    await new Promise<void>((resolve) => raw.once('data', () => resolve()));
    const upstream = tlsConnect({ ...(await this.opts.backend.tlsFor(user)), socket: raw });
    upstream.on('error', () => client.destroy());
    await new Promise<void>((resolve) => upstream.once('secureConnect', resolve));
    const length = Buffer.alloc(4);
    length.writeInt32BE(startup.length + 4, 0);
    upstream.write(Buffer.concat([length, startup]));
    upstream.pipe(client);
    client.pipe(upstream);
    client.resume();
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
