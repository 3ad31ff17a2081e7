import { Worker } from 'node:worker_threads';
import type { IngestResult, StreamRecord } from './audit-store.js';

export interface IndexWriterOptions {
  path: string;
  retentionMs: number;
  maxBytes: number;
}

/** Messages between IndexWriter and its thread. A batch travels as one buffer, transferred, not copied. */
export type ToIndexWriter = { type: 'ingest'; id: number; seqs: Float64Array; ends: Uint32Array; data: Uint8Array } | { type: 'close' };
export type FromIndexWriter =
  | { type: 'ready'; lastSequence: number }
  | { type: 'failed'; message: string }
  | { type: 'ingested'; id: number; result?: IngestResult; error?: string }
  | { type: 'closed' };

interface Waiting {
  resolve: (result: IngestResult) => void;
  reject: (err: Error) => void;
}

/**
 * The index's only writing connection, on a thread of its own (index-writer.worker.ts), with the
 * retention that deletes from it. The thread that reads the stream hands it batches and goes on
 * reading: parsing and inserting one batch overlaps receiving the next. Batches are indexed in the
 * order given, and their promises settle in that order.
 */
export class IndexWriter {
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;

  private constructor(
    private readonly worker: Worker,
    /** The stream sequence of the last message the index held when it started. */
    readonly lastSequence: number,
    onExit: (code: number) => void,
  ) {
    worker.on('message', (m: FromIndexWriter) => {
      if (m.type !== 'ingested') return;
      const waiting = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.result) waiting?.resolve(m.result);
      else waiting?.reject(new Error(m.error ?? 'indexing failed'));
    });
    worker.once('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`the index writer stopped (exit code ${code})`));
      this.waiting.clear();
      onExit(code);
    });
  }

  /** Starts the thread; `onExit` is told if it stops without being closed. */
  static start(options: IndexWriterOptions, onExit: (code: number) => void): Promise<IndexWriter> {
    const worker = new Worker(new URL('./index-writer.worker.js', import.meta.url), { workerData: options });
    return new Promise((resolve, reject) => {
      const early = (code: number) => reject(new Error(`the index writer exited with ${code} while starting`));
      worker.once('exit', early);
      worker.once('error', reject);
      worker.once('message', (m: FromIndexWriter) => {
        worker.off('exit', early);
        worker.off('error', reject);
        if (m.type === 'ready') return resolve(new IndexWriter(worker, m.lastSequence, onExit));
        reject(new Error(m.type === 'failed' ? m.message : `unexpected message ${m.type}`));
        void worker.terminate();
      });
    });
  }

  ingest(records: StreamRecord[]): Promise<IngestResult> {
    const seqs = new Float64Array(records.length);
    const ends = new Uint32Array(records.length);
    let total = 0;
    for (const r of records) total += r.data.byteLength;
    const data = new Uint8Array(total);
    let at = 0;
    records.forEach((r, i) => {
      data.set(r.data, at);
      at += r.data.byteLength;
      seqs[i] = r.seq;
      ends[i] = at;
    });
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'ingest', id, seqs, ends, data } satisfies ToIndexWriter, [seqs.buffer, ends.buffer, data.buffer]);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    const closed = new Promise<void>((resolve) => {
      this.worker.on('message', (m: FromIndexWriter) => m.type === 'closed' && resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage({ type: 'close' } satisfies ToIndexWriter);
    const timer = setTimeout(() => void this.worker.terminate(), 5_000);
    await closed;
    clearTimeout(timer);
    await this.worker.terminate();
  }
}

/** The records of a batch as IndexWriter sent it. */
export function unpackBatch(seqs: Float64Array, ends: Uint32Array, data: Uint8Array): StreamRecord[] {
  const records: StreamRecord[] = new Array(seqs.length);
  let from = 0;
  for (let i = 0; i < seqs.length; i++) {
    records[i] = { seq: seqs[i]!, data: data.subarray(from, ends[i]) };
    from = ends[i]!;
  }
  return records;
}
