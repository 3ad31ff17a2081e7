// The audit service's thread (see audit-thread.ts): runs the service and answers `close`.
import { parentPort, workerData } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import { ServiceLogger } from '#libs/bus';
import { runAuditService, type AuditOptions } from './audit.bootstrap.js';
import type { FromAuditThread, ToAuditThread } from './audit-thread.js';

const port = parentPort!;
const post = (message: FromAuditThread) => port.postMessage(message);
Logger.overrideLogger(new ServiceLogger());

try {
  const service = await runAuditService(workerData as AuditOptions);
  port.on('message', (message: ToAuditThread) => {
    if (message.type !== 'close') return;
    service.close().then(
      () => post({ type: 'closed' }),
      (err: Error) => {
        new Logger('audit').error(`stopping: ${err.message}`);
        post({ type: 'closed' });
      },
    );
  });
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'failed', message: (err as Error).message });
}
