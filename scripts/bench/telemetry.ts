// --telemetry: what a production deployment turns on, so its cost is measured. Every process gets a
// diagnostic listener that is scraped every 5 s (a busy Prometheus), and exports its traces over
// OTLP/HTTP to a receiver here that reads and drops them.
import { createServer, get, type Server } from 'node:http';
import { freePort } from '#libs/testing';

export class TelemetrySink {
  private spans = 0;
  private scrapes = 0;
  private readonly timers: NodeJS.Timeout[] = [];

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<TelemetrySink> {
    const port = await freePort();
    let sink: TelemetrySink | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        sink!.spans += (body.match(/"spanId"/g) ?? []).length;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    sink = new TelemetrySink(server, `http://127.0.0.1:${port}`);
    return sink;
  }

  /** The environment a process exports its traces with. */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: this.endpoint };
  }

  /** A fresh diagnostic address, scraped every 5 s from now on. */
  async diagAddr(): Promise<string> {
    const port = await freePort();
    const timer = setInterval(() => {
      get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        res.resume();
        res.on('end', () => this.scrapes++);
      }).on('error', () => undefined);
    }, 5_000);
    timer.unref();
    this.timers.push(timer);
    return `127.0.0.1:${port}`;
  }

  summary(): string {
    return `${this.scrapes} scrapes of /metrics, ${this.spans} spans received`;
  }

  stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
