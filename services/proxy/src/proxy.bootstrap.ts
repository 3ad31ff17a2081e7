import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { connectNats, NATS_ALPN, openBucket, RpcClient, watchPeers, type BusAccess, type RunningService } from '#libs/bus';
import { formatHostPort, parseHostPort } from '#libs/common';
import { Buckets, DataPlane, Rpc } from '#libs/events';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { AdminController } from './http/admin.controller.js';
import { AuditController, AuditStreams } from './http/audit.controller.js';
import { AuthorizeGuard } from './http/authorize.guard.js';
import { traceRequests } from './http/request-tracing.js';
import { HttpErrorFilter } from './http/http-exception.filter.js';
import { ProxySettings } from './http/public-url.js';
import { SignupPageController } from './http/signup-page.controller.js';
import { UserDbController } from './http/user-db.controller.js';
import { WebApiController } from './http/web-api.controller.js';
import { WebSessionController } from './http/web-session.controller.js';
import { WebUiController } from './http/web-ui.controller.js';
import { agentHostId } from './agents/agent-identity.js';
import { forwardToNats } from './agents/nats-forward.js';
import { TUNNEL_ALPN, TunnelRegistry } from './agents/tunnels.js';
import { createIngress } from './pg/ingress.js';
import { connectionRouter, type ProxyWorkers } from './workers.js';
import { PendingConnections, type ConnectionLimits } from './pg/pending-connections.js';
import { handlePgClient } from './pg/pg-session.js';
import { obtainProxyCredentials, PROXY_CERT_TTL_MS } from './tls/host-credentials.js';
import { ProxyTls, type WebKeyPair } from './tls/proxy-tls.js';
import { AcmeCertificates, LETS_ENCRYPT_DIRECTORY } from './tls/acme.js';

/** Who may open tunnels (Database Services) and reach the bus through this port (they, and provisioning on its own host). */
const TUNNEL_ROLES = new Set(['Db']);
const BUS_ROLES = new Set(['Db', 'Provisioning']);

export interface ProxyOptions {
  bus: BusAccess;
  /** Where the proxy carries Database Services' bus connections: the cluster's NATS servers. */
  natsServers: string[];
  /** Where Database Services dial this proxy's tunnels, when it is not the address they were given. */
  tunnelAddr?: string;
  /** Called once the proxy is on the bus (a joined proxy renews its identity through it). */
  onConnected?: (rpc: RpcClient) => void;
  /** `proxy_service.web_listen_addr`. */
  webListenAddr: string;
  /** `proxy_service.public_addr`: host:port users reach the proxy at. */
  publicAddrs: string[];
  hostId: string;
  /** `proxy_service.connection_limits`. */
  connectionLimits: ConnectionLimits;
  /** `proxy_service.https_keypairs`. */
  httpsKeyPairs: WebKeyPair[];
  /** `proxy_service.acme`, with where to keep its account and certificate. */
  acme?: { email: string; uri?: string; dir: string };
  /** proxy_service.workers above 1, in the first process: the others, which it hands connections to. */
  workers?: ProxyWorkers;
  /**
   * This is a worker of several, not the first: it listens nowhere and is handed connections
   * (`accept`); it does not register in PROXIES, and takes the ACME certificate the first obtains.
   */
  worker?: boolean;
}

/** A whole request, body included, once its headers are in; responses (tsh play --follow) are not limited. */
const HTTP_REQUEST_TIMEOUT_MS = 30_000;
/** An idle kept-alive HTTPS connection is closed after this (Node's default, stated). */
const HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000;

/**
 * Every response: no sniffing, no referrer, no framing, and a policy that lets a JSON answer run nothing
 * if a browser ever renders it. Pages set their own policy over this one.
 */
function securityHeaders(_req: IncomingMessage, res: ServerResponse, next: () => void): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  next();
}

@Module({})
class ProxyHttpModule {
  static register(settings: ProxySettings, streams: AuditStreams): DynamicModule {
    return {
      module: ProxyHttpModule,
      // Order matters where paths overlap: GET sessions/web before sessions/:sid, the signup page before /web/*.
      controllers: [
        WebApiController,
        AdminController,
        SignupPageController,
        UserDbController,
        WebSessionController,
        AuditController,
        WebUiController,
      ],
      providers: [
        { provide: ProxySettings, useValue: settings },
        { provide: AuditStreams, useValue: streams },
        { provide: APP_GUARD, useClass: AuthorizeGuard },
      ],
    };
  }
}

export async function startProxy(
  options: ProxyOptions,
): Promise<RunningService & { address(): { host: string; port: number }; accept(socket: Socket): void }> {
  const logger = new Logger('proxy');
  const nc = await connectNats(options.bus, 'proxy');
  const rpc = new RpcClient(nc, options.bus.credentials.identity);
  options.onConnected?.(rpc);
  const unwatchPeers = watchPeers(rpc, [Rpc.Auth.Ping, Rpc.Inventory.Ping, Rpc.Broker.Ping]);
  const publicHosts = options.publicAddrs.map((a) => parseHostPort(a, 443).host);
  let creds = await obtainProxyCredentials(rpc, publicHosts);

  const settings = new ProxySettings(options.publicAddrs[0]);
  const app = await NestFactory.create(
    ProxyHttpModule.register(settings, new AuditStreams(jetstream(nc), await jetstreamManager(nc))),
    new ExpressAdapter(),
  );
  app.useGlobalFilters(new HttpErrorFilter());
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  app.use(traceRequests(rpc));
  app.use(securityHeaders);
  await app.init();

  // One port: Postgres (SSLRequest, or TLS with ALPN "postgresql"), HTTPS, and the Database Services'
  // tunnels and bus connections (ALPN dbaccess-tunnel, dbaccess-nats; a Db host certificate required).
  const pending = new PendingConnections(options.connectionLimits);
  const tunnels = new TunnelRegistry();
  const pgDeps = { rpc, credentials: () => creds, tunnels, established: (socket: Socket) => pending.established(socket) };
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
  const onSecure = (socket: TLSSocket) => {
    switch (socket.alpnProtocol) {
      case 'postgresql':
        return void handlePgClient(socket, pgDeps).catch((err: Error) => logger.warn(`postgres session: ${err.message}`));
      // An agent's connection says what it is with its certificate: its handshake is over, and a tunnel may idle.
      case TUNNEL_ALPN: {
        const hostId = agentHostId(socket, creds.cas.host ?? [], TUNNEL_ROLES);
        if (!hostId) return void socket.destroy();
        pending.established(socket);
        return tunnels.add(hostId, socket);
      }
      case NATS_ALPN:
        if (!agentHostId(socket, creds.cas.host ?? [], BUS_ROLES)) return void socket.destroy();
        pending.established(socket);
        return forwardToNats(socket, options.natsServers);
      default:
        httpServer.emit('connection', socket);
    }
  };
  const tls = new ProxyTls(options.httpsKeyPairs, creds, { ALPNProtocols: ['http/1.1', 'postgresql', TUNNEL_ALPN, NATS_ALPN] }, onSecure);
  // The configuration has at least one (loading it checks).
  const domains = publicHosts.filter((h) => !isIP(h) && h !== 'localhost');
  const acmeCerts =
    options.acme &&
    new AcmeCertificates(
      { email: options.acme.email, uri: options.acme.uri ?? LETS_ENCRYPT_DIRECTORY, dir: options.acme.dir, domains },
      tls,
      options.worker ? 'follow' : 'obtain',
    );
  const { server, accept, destroyConnections } = createIngress(
    (name, alpn) => tls.serverFor(name, alpn),
    () => tls.hostContext(),
    pgDeps,
    pending,
    options.workers && connectionRouter(options.workers),
  );
  const listen = parseHostPort(options.webListenAddr, 3080);
  if (!options.worker) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => resolve());
    });
    server.on('error', (err) => logger.error(err.message));
  }
  // After listening: the CA validates on this port.
  acmeCerts?.start();

  // Renew the host certificate at half its life; new connections get the new one.
  const renew = setInterval(() => {
    obtainProxyCredentials(rpc, publicHosts)
      .then((next) => {
        creds = next;
        tls.update(next);
      })
      .catch((err: Error) => logger.error(`renewing the proxy certificate failed: ${err.message}`));
  }, PROXY_CERT_TTL_MS / 2);
  renew.unref();

  const bound = options.worker ? { address: listen.host, port: listen.port } : (server.address() as { address: string; port: number });
  const proxies = await openBucket(nc, Buckets.Proxies);
  const hostId = options.bus.credentials.identity.id;
  const register = () => {
    const entry: DataPlane.ProxyServer = {
      host_id: hostId,
      ...(options.tunnelAddr ? { addr: options.tunnelAddr } : {}),
      ...(options.workers ? { workers: options.workers.count } : {}),
      expires: new Date(Date.now() + DataPlane.REGISTRATION_TTL_MS).toISOString(),
    };
    return proxies.put(hostId, JSON.stringify(entry)).catch((err: Error) => logger.warn(`registering the proxy failed: ${err.message}`));
  };
  // The first process registers the proxy (all of its processes are one proxy, one host id).
  const heartbeat = options.worker ? undefined : setInterval(() => void register(), DataPlane.HEARTBEAT_MS);
  if (heartbeat) {
    await register();
    heartbeat.unref();
    logger.log(`proxy listening on ${formatHostPort({ host: bound.address, port: bound.port })}`);
  }
  return {
    name: 'proxy',
    address: () => ({ host: bound.address, port: bound.port }),
    accept,
    async close() {
      unwatchPeers();
      clearInterval(renew);
      acmeCerts?.stop();
      clearInterval(heartbeat);
      if (heartbeat) await proxies.delete(hostId).catch(() => undefined);
      tunnels.closeAll();
      httpServer.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      destroyConnections();
      await closed;
      await app.close();
      await nc.close();
    },
  };
}
