import { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import { busProblems } from '#libs/bus';
import { BadParameterError, parseHostPort } from '#libs/common';
import { readinessProblems } from '#libs/telemetry';

/** A request the listener's thread passes on, and the main thread's answer. */
export interface DiagQuestion {
  id: number;
  path: string;
}
export interface DiagAnswer {
  id: number;
  status: number;
  contentType: string;
  body: string;
}

/**
 * The diagnostic listener (`--diag-addr`, `teleport.diag_addr`), as Teleport has it, for health checks
 * and probes: `/healthz` answers 200 while the process lives; `/readyz` 200 once every service started
 * and while every bus connection is up, its projections keep up with their streams and the services it
 * calls answer, else 503 with the reasons, one per line; `/metrics` the
 * Prometheus text format. Its HTTP runs on a thread of its own (diag.worker.ts), which asks this thread
 * for each answer: a scrape's socket traffic in the data path's isolate cost it ~10% of its throughput.
 */
export class DiagServer {
  private starting = true;
  private stopping = false;

  private constructor(
    private readonly worker: Worker,
    private readonly metrics: () => Promise<string>,
  ) {
    // A process told to stop is not ready for more work, while its services wind down.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => (this.stopping = true));
    worker.on('message', (q: DiagQuestion) => void this.answer(q).then((a) => worker.postMessage(a)));
  }

  static async start(addr: string, metrics: () => Promise<string>): Promise<DiagServer> {
    const { host, port } = parseHostPort(addr, 3000);
    const worker = new Worker(new URL('./diag.worker.js', import.meta.url), { workerData: { host, port } });
    worker.unref();
    const started = await new Promise<{ listening: boolean; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (!started.listening) {
      await worker.terminate();
      throw new BadParameterError(`cannot listen for diagnostics on ${addr}: ${started.error}`);
    }
    new Logger('teleport').log(`diagnostics at http://${addr}: /healthz, /readyz and /metrics`);
    return new DiagServer(worker, metrics);
  }

  private async answer({ id, path }: DiagQuestion): Promise<DiagAnswer> {
    const text = (status: number, body: string) => ({ id, status, contentType: 'text/plain', body });
    if (path === '/healthz') return text(200, 'ok\n');
    if (path === '/readyz') {
      const problems = await this.problems();
      return text(problems.length ? 503 : 200, problems.length ? `${problems.join('\n')}\n` : 'ok\n');
    }
    if (path === '/metrics')
      return this.metrics().then(
        (body) => ({ id, status: 200, contentType: 'text/plain; version=0.0.4', body }),
        (err: Error) => text(500, `# collecting the metrics failed: ${err.message}\n`),
      );
    return text(404, 'not found: try /healthz, /readyz or /metrics\n');
  }

  /** Every service has started: ready, as long as the bus connections are up. */
  started(): void {
    this.starting = false;
  }

  /** Why the process is not ready; nothing when it is. With the bus down, asking peers tells nothing more. */
  async problems(): Promise<string[]> {
    const own = [...(this.starting ? ['starting'] : []), ...(this.stopping ? ['stopping'] : []), ...busProblems()];
    return own.length ? own : readinessProblems();
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
