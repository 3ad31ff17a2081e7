import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import { randomUUID } from 'node:crypto';
import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { connectNats, type RunningService } from '#libs/bus';
import { formatHostPort, parseHostPort } from '#libs/common';
import { ControlPlane } from './clients.js';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { AdminController } from './http/admin.controller.js';
import { AuditController, AuditStreams } from './http/audit.controller.js';
import { AuthorizeGuard } from './http/authorize.guard.js';
import { HttpErrorFilter } from './http/http-exception.filter.js';
import { ProxySettings } from './http/public-url.js';
import { SignupPageController } from './http/signup-page.controller.js';
import { UserDbController } from './http/user-db.controller.js';
import { WebApiController } from './http/web-api.controller.js';
import { createIngress } from './pg/ingress.js';
import { PendingConnections, type ConnectionLimits } from './pg/pending-connections.js';
import { handlePgClient } from './pg/pg-session.js';
import { obtainProxyCredentials, PROXY_CERT_TTL_MS, type HostCredentials } from './tls/host-credentials.js';

export interface ProxyOptions {
  natsServers: string[];
  /** `proxy_service.web_listen_addr`. */
  webListenAddr: string;
  /** `proxy_service.public_addr`: host:port users reach the proxy at. */
  publicAddrs: string[];
  hostId?: string;
  /** `proxy_service.connection_limits`. */
  connectionLimits: ConnectionLimits;
}

/** A whole request, body included, once its headers are in; responses (tsh play --follow) are not limited. */
const HTTP_REQUEST_TIMEOUT_MS = 30_000;
/** An idle kept-alive HTTPS connection is closed after this (Node's default, stated). */
const HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000;

@Module({})
class ProxyHttpModule {
  static register(control: ControlPlane, settings: ProxySettings, streams: AuditStreams): DynamicModule {
    return {
      module: ProxyHttpModule,
      controllers: [WebApiController, AdminController, SignupPageController, UserDbController, AuditController],
      providers: [
        { provide: ControlPlane, useValue: control },
        { provide: ProxySettings, useValue: settings },
        { provide: AuditStreams, useValue: streams },
        { provide: APP_GUARD, useClass: AuthorizeGuard },
      ],
    };
  }
}

function tlsOptions(creds: HostCredentials) {
  return {
    key: creds.privateKeyPem,
    cert: creds.certPem,
    // Client certificates are optional at the TLS layer (login and signup have none); handlers that
    // need one check it. Users present user-CA certificates, cluster processes and the admin host-CA ones.
    ca: [...(creds.cas.user ?? []), ...(creds.cas.host ?? [])],
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2' as const,
  };
}

export async function startProxy(options: ProxyOptions): Promise<RunningService & { address(): { host: string; port: number } }> {
  const logger = new Logger('proxy');
  const control = ControlPlane.connect(options.natsServers);
  const nc = await connectNats(options.natsServers, 'proxy');
  const publicHosts = options.publicAddrs.map((a) => parseHostPort(a, 443).host);
  const hostId = options.hostId ?? randomUUID();
  let creds = await obtainProxyCredentials(control, hostId, publicHosts);
  let secureContext = createSecureContext(tlsOptions(creds));

  const settings = new ProxySettings(options.publicAddrs[0], options.natsServers);
  const app = await NestFactory.create(
    ProxyHttpModule.register(control, settings, new AuditStreams(jetstream(nc), await jetstreamManager(nc))),
    new ExpressAdapter(),
  );
  app.useGlobalFilters(new HttpErrorFilter());
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  await app.init();

  // One port: Postgres (SSLRequest, or TLS with ALPN "postgresql") and HTTPS.
  const pending = new PendingConnections(options.connectionLimits);
  const pgDeps = { control, nc, credentials: () => creds, established: (socket: Socket) => pending.established(socket) };
  const httpServer = createHttpServer(
    {
      // Later requests of a kept-alive connection get as long for their headers as the first.
      headersTimeout: options.connectionLimits.handshakeTimeoutMs,
      requestTimeout: Math.max(HTTP_REQUEST_TIMEOUT_MS, options.connectionLimits.handshakeTimeoutMs),
      keepAliveTimeout: HTTP_KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: 1_000,
    },
    app.getHttpAdapter().getInstance(),
  );
  // The first request's headers end the connection's handshake deadline.
  httpServer.on('request', (req: IncomingMessage) => pending.established(req.socket));
  // This server never listens (the ingress hands it connections), and Node starts the timer that
  // enforces headersTimeout and requestTimeout on 'listening'.
  httpServer.emit('listening');
  const tlsServer = createTlsServer({ ...tlsOptions(creds), ALPNProtocols: ['http/1.1', 'postgresql'] });
  tlsServer.on('secureConnection', (socket) => {
    if (socket.alpnProtocol === 'postgresql')
      void handlePgClient(socket, pgDeps).catch((err: Error) => logger.warn(`postgres session: ${err.message}`));
    else httpServer.emit('connection', socket);
  });
  tlsServer.on('tlsClientError', () => undefined);
  const { server, destroyConnections } = createIngress(tlsServer, () => secureContext, pgDeps, pending);
  const listen = parseHostPort(options.webListenAddr, 3080);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  server.on('error', (err) => logger.error(err.message));

  // Renew the host certificate at half its life; new connections get the new one.
  const renew = setInterval(() => {
    obtainProxyCredentials(control, hostId, publicHosts)
      .then((next) => {
        creds = next;
        secureContext = createSecureContext(tlsOptions(next));
        tlsServer.setSecureContext(tlsOptions(next));
      })
      .catch((err: Error) => logger.error(`renewing the proxy certificate failed: ${err.message}`));
  }, PROXY_CERT_TTL_MS / 2);
  renew.unref();

  const bound = server.address() as { address: string; port: number };
  logger.log(`proxy listening on ${formatHostPort({ host: bound.address, port: bound.port })}`);
  return {
    name: 'proxy',
    address: () => ({ host: bound.address, port: bound.port }),
    async close() {
      clearInterval(renew);
      httpServer.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      destroyConnections();
      await closed;
      await app.close();
      await control.close();
      await nc.close();
    },
  };
}
