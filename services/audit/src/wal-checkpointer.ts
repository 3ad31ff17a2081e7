import { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';

/**
 * Copies the index's write-ahead log back into the database file on a thread of its own, every
 * `intervalMs`, so that neither indexing nor searches wait for it: SQLite's automatic checkpoint runs
 * inside the commit that crosses its threshold, and took about as long as the inserts themselves.
 * A passive checkpoint never blocks the writer or readers; the writer checkpoints itself only when
 * the log outgrows its bound (AuditStore.checkpointElsewhere).
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(path: string, intervalMs = 200) {
    this.worker = new Worker(new URL('./wal-checkpoint.worker.js', import.meta.url), { workerData: { path, intervalMs } });
    this.worker.on('error', (err) => new Logger('audit').error(`the index's checkpoint thread failed: ${err.message}`));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    const timer = setTimeout(() => void this.worker.terminate(), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
