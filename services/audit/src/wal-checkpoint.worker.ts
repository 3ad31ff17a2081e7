// The thread of WalCheckpointer: a connection of its own to the index, checkpointing passively.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path);
db.pragma('busy_timeout = 1000');
let failing = false;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failing = false;
  } catch (err) {
    // Told once, not every interval: the writer's bound still keeps the log in check.
    if (!failing) process.stderr.write(`audit index: checkpoint failed: ${(err as Error).message}\n`);
    failing = true;
  }
}, intervalMs);
parentPort!.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
