import { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import { ValueType, type BatchObservableResult } from '@opentelemetry/api';
import { instruments, Metric, observeBatch } from '#libs/telemetry';
import type { RunningService, TransferableCredentials } from '#libs/bus';
import type { AuditOptions } from './audit.bootstrap.js';

/** What the thread starts with: the options, with the credentials in a form a thread can receive. */
type TransferableBus = { servers: string[]; credentials: TransferableCredentials };
export type AuditThreadData = Omit<AuditOptions, 'bus' | 'indexBus'> & { bus: TransferableBus; indexBus: TransferableBus };

/** Messages between `startAudit` and its worker thread. */
export type ToAuditThread = { type: 'close' } | { type: 'renewed'; bus: 'bus' | 'indexBus'; jwt: string };
export type FromAuditThread =
  { type: 'ready' } | { type: 'failed'; message: string } | { type: 'closed' } | { type: 'progress'; indexed: number; behind: number };

const RESTART_MS = 1_000;
const CLOSE_TIMEOUT_MS = 8_000;

/**
 * Starts the audit service on a worker thread of this process. Indexing is synchronous SQLite work
 * (tens of milliseconds per batch, longer while retention deletes) and JSON parsing of every event: on
 * the thread of `teleport start` it would hold up the proxy's and auth's requests and sessions. A
 * thread rather than a process of its own: it starts, stops and logs with `teleport start`, needs no
 * supervisor, and `teleport start --roles=audit` still runs it apart. A thread that dies is started
 * again; its index and durable consumer resume where it stopped.
 */
export async function startAudit(options: AuditOptions): Promise<RunningService> {
  const logger = new Logger('audit');
  // Events indexed by threads that stopped, and the running thread's last report.
  const progress = { before: 0, indexed: 0, behind: 0 };
  const follow = (w: Worker) =>
    w.on('message', (m: FromAuditThread) => {
      if (m.type === 'progress') Object.assign(progress, { indexed: m.indexed, behind: m.behind });
    });
  let worker = await spawn(options);
  follow(worker);
  const stopObserving = observeIndex(() => ({ indexed: progress.before + progress.indexed, behind: progress.behind }));
  // The thread connects with this process's credentials; their renewals follow it there.
  for (const bus of ['bus', 'indexBus'] as const)
    options[bus].credentials.onRenewed((jwt) => worker.postMessage({ type: 'renewed', bus, jwt } satisfies ToAuditThread));
  let closing = false;
  const watch = (w: Worker) =>
    w.once('exit', (code) => {
      if (closing) return;
      logger.error(`the audit service's thread stopped (exit code ${code}); starting it again`);
      setTimeout(() => {
        if (closing) return;
        spawn(options).then(
          (next) => {
            progress.before += progress.indexed;
            progress.indexed = 0;
            worker = next;
            follow(next);
            watch(next);
          },
          (err: Error) => logger.error(`the audit service did not start again: ${err.message}`),
        );
      }, RESTART_MS).unref();
    });
  watch(worker);
  return {
    name: 'audit',
    async close() {
      closing = true;
      stopObserving();
      const closed = new Promise<void>((resolve) => {
        worker.on('message', (m: FromAuditThread) => m.type === 'closed' && resolve());
        worker.once('exit', () => resolve());
      });
      worker.postMessage({ type: 'close' } satisfies ToAuditThread);
      const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      await closed;
      clearTimeout(timer);
      await worker.terminate();
    },
  };
}

/** A worker running the audit service; resolves once it serves, rejects with why it could not start. */
function spawn(options: AuditOptions): Promise<Worker> {
  const { bus, indexBus, ...rest } = options;
  const workerData: AuditThreadData = {
    ...rest,
    bus: { servers: bus.servers, credentials: bus.credentials.toTransferable() },
    indexBus: { servers: indexBus.servers, credentials: indexBus.credentials.toTransferable() },
  };
  const worker = new Worker(new URL('./audit.worker.js', import.meta.url), { workerData });
  return new Promise((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`the audit service's thread exited with ${code} while starting`));
    worker.once('exit', onExit);
    worker.once('error', reject);
    worker.once('message', (m: FromAuditThread) => {
      worker.off('exit', onExit);
      worker.off('error', reject);
      if (m.type === 'ready') return resolve(worker);
      reject(new Error(m.type === 'failed' ? m.message : `unexpected message ${m.type}`));
      void worker.terminate();
    });
  });
}

/** dbaccess.audit.events.indexed and dbaccess.audit.index.lag, from the thread's reports. */
function observeIndex(read: () => { indexed: number; behind: number }): () => void {
  const meter = instruments().meter;
  const indexed = meter.createObservableCounter(Metric.AuditIndexed, {
    unit: '{event}',
    valueType: ValueType.INT,
    description: 'Audit events this audit service committed to its index',
  });
  const lag = meter.createObservableGauge(Metric.AuditIndexLag, {
    unit: '{event}',
    valueType: ValueType.INT,
    description: 'Audit events in the AUDIT stream that this audit service has not indexed yet',
  });
  const observe = (result: BatchObservableResult) => {
    const now = read();
    result.observe(indexed, now.indexed);
    result.observe(lag, now.behind);
  };
  return observeBatch([indexed, lag], observe);
}
