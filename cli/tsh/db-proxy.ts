import { createServer, connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ConnectionProblemError, parseHostPort } from '#libs/common';
import { dbLogins } from '#libs/client';
import { serverName } from '#libs/pki';
import { backend, parseStartupFrame, readStartupFrame } from '#libs/pg-wire';
import { dbConnection } from './db-connection.js';
import type { DbContext } from './db-context.js';
import { dbLogin, loginServes, type DbRouteFlags } from './db-login.js';

/** SSLRequest: int32 8, int32 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

function startupMessage(parameters: Record<string, string>): Buffer {
  const body = Buffer.concat([
    Buffer.from([0, 3, 0, 0]),
    ...Object.entries(parameters).map(([k, v]) => Buffer.from(`${k}\0${v}\0`)),
    Buffer.from([0]),
  ]);
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  return Buffer.concat([length, body]);
}

function connectTo(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port }, () => resolve(socket));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ConnectionProblemError(`cannot reach the proxy at ${host}:${port}: ${err.code ?? err.message}`)),
    );
  });
}

/**
 * `tsh proxy db`: a local listener for clients that hold no certificates. With --tunnel, local
 * clients speak plain PostgreSQL and tsh opens each session to the proxy with the user's database
 * certificate; without it, bytes pass through and clients bring their own TLS and certificates.
 */
export async function dbProxy(ctx: DbContext, db: string, flags: DbRouteFlags & { port?: string; tunnel?: boolean }): Promise<void> {
  const stored = dbLogins(ctx.profile).find((l) => l.name === db);
  const login = stored && loginServes(ctx, stored, flags) ? stored : await dbLogin(ctx, db, flags);
  const conn = dbConnection(ctx.profile, login);
  const { host, port } = parseHostPort(ctx.profile.proxyAddr, 443);
  const identity = ctx.active.profile.identity;

  const tunnel = async (local: Socket): Promise<void> => {
    let frame = parseStartupFrame(await readStartupFrame(local));
    while (frame.kind === 'SSLRequest' || frame.kind === 'GSSENCRequest') {
      local.write(backend.sslAnswer(false)); // the local leg stays plain; the tunnel encrypts
      frame = parseStartupFrame(await readStartupFrame(local));
    }
    const remote = await connectTo(host, port);
    if (frame.kind === 'CancelRequest') {
      // Cancel keys are the cluster's own: the proxy finds the session wherever it runs.
      const cancel = Buffer.alloc(16);
      cancel.writeInt32BE(16, 0);
      cancel.writeInt32BE(80877102, 4);
      cancel.writeInt32BE(frame.processId, 8);
      cancel.writeInt32BE(frame.secretKey, 12);
      remote.end(cancel);
      return void local.end();
    }
    remote.write(SSL_REQUEST);
    const answer = await new Promise<Buffer>((resolve) => remote.once('data', resolve));
    if (answer[0] !== 0x53) throw new ConnectionProblemError(`the proxy at ${host}:${port} refused TLS`);
    const tls = tlsConnect({
      socket: remote,
      ...serverName(host),
      ca: identity.cas.host ?? [],
      cert: login.certPem,
      key: identity.privateKeyPem,
    });
    await new Promise((resolve, reject) => {
      tls.once('secureConnect', resolve);
      tls.once('error', reject);
    });
    const parameters = { ...(frame.kind === 'StartupMessage' ? frame.parameters : {}) };
    parameters.user ||= conn.user ?? '';
    parameters.database ||= conn.database ?? '';
    tls.write(startupMessage(Object.fromEntries(Object.entries(parameters).filter(([, v]) => v !== ''))));
    local.pipe(tls);
    tls.pipe(local);
    local.resume();
    const close = () => {
      local.destroy();
      tls.destroy();
    };
    local.once('close', close);
    tls.once('close', close);
    tls.on('error', close);
  };

  const passthrough = async (local: Socket): Promise<void> => {
    const remote = await connectTo(host, port);
    local.pipe(remote);
    remote.pipe(local);
    local.resume();
    remote.on('error', () => local.destroy());
    local.once('close', () => remote.destroy());
  };

  const server = createServer({ pauseOnConnect: true }, (local) => {
    local.on('error', () => local.destroy());
    (flags.tunnel ? tunnel(local) : passthrough(local)).catch((err: Error) => {
      if (!local.destroyed) local.end(backend.errorResponse({ severity: 'FATAL', code: '08006', message: err.message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(flags.port ? Number(flags.port) : 0, '127.0.0.1', () => resolve());
  });
  const local = server.address() as { port: number };
  if (flags.tunnel) {
    const user = conn.user ? `${conn.user}@` : '';
    process.stdout.write(
      `Started authenticated tunnel for the PostgreSQL database "${db}" in cluster "${ctx.profile.cluster}" on 127.0.0.1:${local.port}.\n\n` +
        `Use the following command to connect to the database or to the address above using other database GUI/CLI clients:\n` +
        `  $ psql "postgres://${user}localhost:${local.port}/${conn.database ?? ''}"\n`,
    );
  } else {
    process.stdout.write(
      `Started DB proxy on 127.0.0.1:${local.port}\n\nUse following credentials to connect to the ${db} proxy:\n` +
        `  ca_file=${conn.ca}\n  cert_file=${conn.cert}\n  key_file=${conn.key}\n`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
