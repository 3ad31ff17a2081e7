// The thread of IndexWriter: the index's writing connection, its checkpoints and its retention.
import { parentPort, workerData } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import { ServiceLogger } from '#libs/bus';
import { formatByteSize, formatDuration } from '#libs/common';
import { AuditStore } from './audit-store.js';
import { unpackBatch, type FromIndexWriter, type IndexWriterOptions, type ToIndexWriter } from './index-writer.js';
import { WalCheckpointer } from './wal-checkpointer.js';

const RETENTION_CHECK_MS = 60_000;

const port = parentPort!;
const post = (message: FromIndexWriter) => port.postMessage(message);
Logger.overrideLogger(new ServiceLogger());
const logger = new Logger('audit');
const options = workerData as IndexWriterOptions;

try {
  const store = new AuditStore(options.path);
  store.checkpointElsewhere();
  const checkpointer = new WalCheckpointer(store.path);
  const retention = () => {
    try {
      const deleted = store.applyRetention(Date.now(), options.retentionMs, options.maxBytes);
      if (deleted)
        logger.log(
          `retention: deleted ${deleted} audit events (older than ${formatDuration(options.retentionMs)} or over ${formatByteSize(options.maxBytes)})`,
        );
    } catch (err) {
      logger.error(`retention failed: ${(err as Error).message}`);
    }
  };
  retention();
  const timer = setInterval(retention, RETENTION_CHECK_MS);
  port.on('message', (message: ToIndexWriter) => {
    if (message.type === 'ingest') {
      try {
        const result = store.ingest(unpackBatch(message.seqs, message.ends, message.data));
        post({ type: 'ingested', id: message.id, result });
      } catch (err) {
        post({ type: 'ingested', id: message.id, error: (err as Error).message });
      }
      return;
    }
    clearInterval(timer);
    void checkpointer.stop().then(() => {
      store.close();
      post({ type: 'closed' });
      port.close();
    });
  });
  post({ type: 'ready', lastSequence: store.lastSequence() });
} catch (err) {
  post({ type: 'failed', message: (err as Error).message });
}
