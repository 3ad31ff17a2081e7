import { Logger } from '@nestjs/common';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
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
/** How long a pull for more events waits on the server; idle, one is sent again this often. */
const PULL_EXPIRES_MS = 4_000;
/** A warning about skipped messages names this many of them. */
const MALFORMED_NAMED = 5;

/**
 * Feeds the AUDIT stream into the index through a durable consumer. Acknowledgements are cumulative
 * (AckPolicy.All) and sent only after the batch is committed; the index also records the last
 * sequence it holds, so after a crash the consumer's redeliveries are recognised and skipped.
 */
export class AuditIndexer {
  private readonly logger = new Logger('audit');
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
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
    // A callback, not an async iterator: no promise per message. Pulls expire after PULL_EXPIRES_MS, with
    // a heartbeat every half of it while idle: two heartbeats missed (the node leading the consumer died)
    // and nats.js pulls again, from the new leader, rather than after a minute of nats.js's defaults.
    this.messages = await consumer.consume({ max_messages: BATCH, expires: PULL_EXPIRES_MS, callback: (m) => this.batcher.push(m) });
    this.loop = this.messages.closed().then(() => this.batcher.flush());
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
    await this.messages?.close();
    await this.loop;
    this.batcher.flush();
    await this.inFlight;
  }
}
