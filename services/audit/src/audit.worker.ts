// The audit service's thread (see audit-thread.ts): runs the service and answers `close`.
import { parentPort, workerData } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import { BusCredentials, ServiceLogger } from '#libs/bus';
import { runAuditService } from './audit.bootstrap.js';
import type { AuditThreadData, FromAuditThread, ToAuditThread } from './audit-thread.js';

const port = parentPort!;
const PROGRESS_MS = 2_000;
const post = (message: FromAuditThread) => port.postMessage(message);
Logger.overrideLogger(new ServiceLogger());

try {
  const { bus, indexBus, ...options } = workerData as AuditThreadData;
  const credentials = {
    bus: BusCredentials.fromTransferable(bus.credentials),
    indexBus: BusCredentials.fromTransferable(indexBus.credentials),
  };
  const service = await runAuditService({
    ...options,
    bus: { servers: bus.servers, credentials: credentials.bus },
    indexBus: { servers: indexBus.servers, credentials: credentials.indexBus },
  });
  port.on('message', (message: ToAuditThread) => {
    if (message.type === 'renewed') return void credentials[message.bus].replaceJwt(message.jwt);
    service.close().then(
      () => post({ type: 'closed' }),
      (err: Error) => {
        new Logger('audit').error(`stopping: ${err.message}`);
        post({ type: 'closed' });
      },
    );
  });
  post({ type: 'ready' });
  // The index's progress, for the process's metrics (the thread has no meter of its own).
  setInterval(() => post({ type: 'progress', ...service.progress }), PROGRESS_MS).unref();
} catch (err) {
  post({ type: 'failed', message: (err as Error).message });
}
