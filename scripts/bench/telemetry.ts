// --telemetry: what a production deployment turns on, so its cost is measured. Every process gets a
// diagnostic listener that is scraped every 5 s (a busy Prometheus), and exports its traces over
// OTLP/HTTP to a receiver here that reads and drops them.
import { createServer, get, type Server } from 'node:http';
import { freePort } from '#libs/testing';

type OtlpSpan = { name?: string; startTimeUnixNano?: string; endTimeUnixNano?: string };
type OtlpBody = { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: OtlpSpan[] }> }> };

export class TelemetrySink {
  private spans = 0;
  private scrapes = 0;
  /** Durations in ms of the spans received, by span name. */
  private readonly durations = new Map<string, number[]>();
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
        sink!.record(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    sink = new TelemetrySink(server, `http://127.0.0.1:${port}`);
    return sink;
  }

  private record(body: string): void {
    let parsed: OtlpBody;
    try {
      parsed = JSON.parse(body) as OtlpBody;
    } catch {
      return;
    }
    for (const resource of parsed.resourceSpans ?? [])
      for (const scope of resource.scopeSpans ?? [])
        for (const span of scope.spans ?? []) {
          this.spans++;
          if (!span.name || !span.startTimeUnixNano || !span.endTimeUnixNano) continue;
          const ms = Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6;
          const list = this.durations.get(span.name) ?? [];
          list.push(ms);
          this.durations.set(span.name, list);
        }
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

  /** Each span name with its count and mean, median and 95th percentile duration, the longest mean first. */
  spanTable(): string {
    const rows = [...this.durations].map(([name, ms]) => {
      const sorted = [...ms].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
      return { name, count: ms.length, mean: ms.reduce((a, b) => a + b, 0) / ms.length, p50: at(0.5), p95: at(0.95) };
    });
    rows.sort((a, b) => b.mean - a.mean);
    const width = Math.max(4, ...rows.map((r) => r.name.length));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width) : c.padStart(8))).join('  ');
    return [
      line(['span', 'count', 'mean ms', 'p50 ms', 'p95 ms']),
      ...rows.map((r) => line([r.name, String(r.count), r.mean.toFixed(2), r.p50.toFixed(2), r.p95.toFixed(2)])),
    ].join('\n');
  }

  stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
