// A worker process (a Database Service, or a proxy), started by startWorkers: it is told what to run over IPC.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { FromWorker, WorkerStart } from './workers.js';
import { runServices, serviceLogger } from './start.js';

// The process that started this one is gone (even killed): stop as on SIGTERM (a Database Service
// sends its spool first).
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
process.once('message', (start: WorkerStart) => {
  Logger.overrideLogger(serviceLogger(start.config, start.debug));
  runServices(start.config, [start.role], {
    worker: { role: start.role, n: start.worker },
    ...(start.caPin ? { caPin: start.caPin } : {}),
    ...(start.rejoin ? { rejoin: true } : {}),
  }).then(
    () => process.send?.({ type: 'up' } satisfies FromWorker),
    (err: Error) => {
      new Logger(start.role).error(
        `worker ${start.worker} of the ${start.role === 'db' ? 'Database Service' : 'proxy'} cannot start: ${err.message}`,
      );
      process.exit(1);
    },
  );
});
