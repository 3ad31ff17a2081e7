import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import { busProblems } from '#libs/bus';
import { BadParameterError, parseHostPort } from '#libs/common';

/**
 * The diagnostic listener (`--diag-addr`, `teleport.diag_addr`), as Teleport has it, for health checks
 * and probes: `/healthz` answers 200 while the process lives; `/readyz` 200 once every service started
 * and while every bus connection is up, else 503 with the reasons, one per line; `/metrics` the
 * Prometheus text format.
 */
export class DiagServer {
  private starting = true;
  private stopping = false;

  private constructor(private readonly server: Server) {
    // A process told to stop is not ready for more work, while its services wind down.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => (this.stopping = true));
  }

  static async start(addr: string, metrics: (req: IncomingMessage, res: ServerResponse) => void): Promise<DiagServer> {
    const { host, port } = parseHostPort(addr, 3000);
    let diag: DiagServer | undefined;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
      if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      if (path === '/readyz') {
        const problems = diag!.problems();
        res.writeHead(problems.length ? 503 : 200, { 'content-type': 'text/plain' });
        return void res.end(problems.length ? `${problems.join('\n')}\n` : 'ok\n');
      }
      if (path === '/metrics') return metrics(req, res);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz, /readyz or /metrics\n');
    });
    // Probes are small and frequent; a slow client holds nothing for long.
    server.requestTimeout = 5_000;
    server.headersTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new BadParameterError(`cannot listen for diagnostics on ${addr}: ${err.code ?? err.message}`)),
      );
      server.listen(port, host, () => resolve());
    });
    diag = new DiagServer(server);
    new Logger('teleport').log(`diagnostics at http://${addr}: /healthz, /readyz and /metrics`);
    return diag;
  }

  /** Every service has started: ready, as long as the bus connections are up. */
  started(): void {
    this.starting = false;
  }

  problems(): string[] {
    return [...(this.starting ? ['starting'] : []), ...(this.stopping ? ['stopping'] : []), ...busProblems()];
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
