// A Database Service worker process, started by startDbWorkers: it is told what to run over IPC.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { DbWorkerStart, FromDbWorker } from './db-workers.js';
import { runServices, serviceLogger } from './start.js';

// The process that started this one is gone (even killed): stop as on SIGTERM, sending the spool first.
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
process.once('message', (start: DbWorkerStart) => {
  Logger.overrideLogger(serviceLogger(start.config, start.debug));
  runServices(start.config, ['db'], {
    worker: start.worker,
    ...(start.caPin ? { caPin: start.caPin } : {}),
    ...(start.rejoin ? { rejoin: true } : {}),
  }).then(
    () => process.send?.({ type: 'up' } satisfies FromDbWorker),
    (err: Error) => {
      new Logger('db').error(`worker ${start.worker} of the Database Service cannot start: ${err.message}`);
      process.exit(1);
    },
  );
});
