import { Logger } from '@nestjs/common';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { Streams } from '#libs/events';
import { CommitBatcher } from './commit-batcher.js';
import type { IndexWriter } from './index-writer.js';

/** Events are committed to the index in transactions of up to this many. */
const BATCH = 2_000;
/** A partial batch waits no longer than this for more events, even when the stream has no more yet. */
const FLUSH_MS = 50;
/**
 * Caught up, the indexer looks for new events this often, and takes what arrived meanwhile in one
 * burst: a pull left open on the server would get each event alone as it is stored, and nats-server
 * spends several times the CPU on events trickled one by one (bench:audit: 15 µs per event delivered in
 * bulk; ~60 µs in a model of a Database Service's traffic under pgbench). The index lags the stream by
 * this much more; `tsh play --follow` reads the stream itself.
 */
const POLL_MS = 250;
/** After a failure to read the stream (NATS away, a consumer leader changing), it is tried again this often. */
const RETRY_MS = 1_000;
/** A fetch the stream can no longer fill (events removed meanwhile) ends after this. */
const FETCH_EXPIRES_MS = 2_000;
/** A warning about skipped messages names this many of them. */
const MALFORMED_NAMED = 5;

/**
 * Feeds the AUDIT stream into the index through a durable consumer. Acknowledgements are cumulative
 * (AckPolicy.All) and sent only after the batch is committed; the index also records the last
 * sequence it holds, so after a crash the consumer's redeliveries are recognised and skipped.
 */
export class AuditIndexer {
  private readonly logger = new Logger('audit');
  private fetching?: ConsumerMessages;
  private loop?: Promise<void>;
  private stopping = false;
  /** Ends the pause between two looks at the stream. */
  private wake?: () => void;
  private readonly batcher = new CommitBatcher<JsMsg>((batch) => this.commit(batch), BATCH, FLUSH_MS);
  /** The last batch handed to the writer: batches settle in order. */
  private inFlight: Promise<void> = Promise.resolve();
  /** Events committed to the index since start, and how many the stream held beyond the last of them. */
  readonly progress = { indexed: 0, behind: 0 };

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly writer: IndexWriter,
    readonly consumerName: string,
  ) {}

  async start(): Promise<void> {
    await this.ensureConsumer();
    const consumer = await this.js.consumers.get(Streams.Audit.name, this.consumerName);
    this.loop = this.run(consumer);
  }

  /**
   * Fetches the events waiting (up to a batch) and, while the last of them says more wait, the next
   * ones at once; else looks again after POLL_MS. Every look is a request of its own: when the node
   * leading the consumer dies, the next one goes to the new leader.
   */
  private async run(consumer: Consumer): Promise<void> {
    let failing = false;
    /** Events the last fetched message said were still waiting; unknown after a pause. */
    let waiting: number | undefined;
    while (!this.stopping) {
      try {
        const want = Math.min(waiting ?? (await consumer.info()).num_pending, BATCH);
        waiting = undefined;
        if (want > 0 && !this.stopping) {
          this.fetching = await consumer.fetch({ max_messages: want, expires: FETCH_EXPIRES_MS });
          for await (const m of this.fetching) {
            this.batcher.push(m);
            waiting = m.info.pending;
          }
        }
        if (failing) this.logger.log('reading the AUDIT stream again');
        failing = false;
      } catch (err) {
        if (!failing) this.logger.warn(`cannot read the AUDIT stream (${(err as Error).message}); trying again`);
        failing = true;
        waiting = undefined;
      }
      if (!waiting) await this.pause(failing ? RETRY_MS : POLL_MS);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * The consumer resumes where the index stopped. One left with messages in flight (its process was
   * killed) would hold them back until their ack_wait expires, and one ahead of the index (its file
   * was lost or restored from a backup) would skip events: either is started again at the index's end.
   */
  private async ensureConsumer(): Promise<void> {
    const stream = Streams.Audit.name;
    const next = this.writer.lastSequence + 1;
    try {
      const info = await this.jsm.consumers.info(stream, this.consumerName);
      if (info.num_ack_pending === 0 && info.ack_floor.stream_seq < next) return;
      if (info.ack_floor.stream_seq >= next)
        this.logger.warn(`the index ends at sequence ${next - 1}, behind its consumer; reading the stream again from there`);
      await this.jsm.consumers.delete(stream, this.consumerName);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
    }
    await this.jsm.consumers.add(stream, {
      durable_name: this.consumerName,
      ack_policy: AckPolicy.All,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: next,
      max_ack_pending: 4 * BATCH,
      ack_wait: 60_000_000_000,
    });
  }

  /** Hands the batch to the writer and goes on receiving; acknowledges it once it is committed. */
  private commit(batch: JsMsg[]): void {
    const last = batch.at(-1)!;
    this.inFlight = this.writer.ingest(batch.map((m) => ({ seq: m.seq, data: m.data }))).then(
      (result) => {
        if (result.malformed.length) this.warnMalformed(batch, result.malformed);
        // Cumulative: acknowledges every earlier message too.
        last.ack();
        this.progress.indexed += batch.length;
        this.progress.behind = last.info.pending;
      },
      // Not acknowledged: JetStream delivers the batch again after ack_wait.
      (err: Error) => this.logger.error(`indexing ${batch.length} audit events failed: ${err.message}`),
    );
  }

  /** Names where the skipped messages are (a few of them), never what they hold. */
  private warnMalformed(batch: JsMsg[], seqs: number[]): void {
    const subjects = new Map(batch.map((m) => [m.seq, m.subject]));
    const named = seqs.slice(0, MALFORMED_NAMED).map((seq) => `${seq} on ${subjects.get(seq)}`);
    const more = seqs.length > MALFORMED_NAMED ? ` and ${seqs.length - MALFORMED_NAMED} more` : '';
    this.logger.warn(`skipped ${seqs.length} message(s) of the AUDIT stream that are not audit events: ${named.join(', ')}${more}`);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.fetching?.close();
    await this.loop;
    this.batcher.flush();
    await this.inFlight;
  }
}
