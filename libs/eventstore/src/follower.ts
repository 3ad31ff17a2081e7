import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { Logger } from '@nestjs/common';
import { retryThroughFailover } from './failover.js';

/** How often the server tells a quiet consumer that it is still there. */
const HEARTBEAT_MS = 1_000;
/** Silence after which the consumer is taken for gone: three heartbeats missed. */
const SILENCE_MS = 3 * HEARTBEAT_MS;

export interface FollowOptions {
  stream: string;
  filter: string;
  /** Start with the last message of each subject (a KV bucket's current values) rather than every message. */
  lastPerSubject?: boolean;
  /** Start with the first message stored at or after this time rather than the stream's first. */
  since?: Date;
  /** Each message, in stream order, once; a promise it returns holds back the next until it settles. */
  onMessage(m: JsMsg): void | Promise<void>;
}

/**
 * Follows the messages of a stream on a filter with an ordered consumer, each delivered once, in order.
 *
 * The ordered consumer is one copy on one NATS node. When that node dies, nats.js cannot tell that the
 * consumer is gone (asking about it times out rather than saying "not found"; a KV watcher waits a
 * minute and more) and the follower would hear nothing for good. So it asks the server for a heartbeat
 * every second when idle, and after `SILENCE_MS` without a message or a heartbeat (not counted while the
 * process itself was stalled) it follows again, with a new consumer from the message after the last one
 * it delivered.
 */
export class StreamFollower {
  private last = 0;
  private messages?: ConsumerMessages;
  private lastSign = 0;
  /** A message is being handled (onMessage's promise): silence meanwhile is ours, not the consumer's. */
  private busy = false;
  private watchdog?: NodeJS.Timeout;
  private refollowing?: Promise<void>;
  private stopped = false;
  private readonly logger = new Logger('eventstore');

  private constructor(
    private readonly js: JetStreamClient,
    private readonly opts: FollowOptions,
  ) {}

  static async start(js: JetStreamClient, opts: FollowOptions): Promise<StreamFollower> {
    const follower = new StreamFollower(js, opts);
    await follower.follow();
    let tick = Date.now();
    follower.watchdog = setInterval(() => {
      const now = Date.now();
      // A tick that comes late means this process was busy: what arrived meanwhile is still unread.
      const late = now - tick > 2 * HEARTBEAT_MS;
      tick = now;
      if (!late && !follower.busy && now - follower.lastSign > SILENCE_MS)
        void follower.refollow(`nothing from its consumer for ${SILENCE_MS / 1000} s`);
    }, HEARTBEAT_MS).unref();
    return follower;
  }

  /** Starts a consumer after the last message delivered (at first: from the start, or each subject's last). */
  private async follow(): Promise<void> {
    const { stream, filter } = this.opts;
    const from =
      this.last > 0
        ? { opt_start_seq: this.last + 1 }
        : this.opts.lastPerSubject
          ? { deliver_policy: DeliverPolicy.LastPerSubject }
          : this.opts.since
            ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: this.opts.since.toISOString() }
            : { opt_start_seq: 1 };
    const consumer = await retryThroughFailover(() => this.js.consumers.get(stream, { filter_subjects: filter, ...from }));
    const messages = await consumer.consume({ idle_heartbeat: HEARTBEAT_MS });
    if (this.stopped) return messages.stop();
    this.messages = messages;
    this.lastSign = Date.now();
    void this.run(messages).catch((err: Error) => this.logger.error(`following ${filter} of ${stream} stopped: ${err.message}`));
    void (async () => {
      for await (const s of messages.status()) if (s.type === 'heartbeat' && this.messages === messages) this.lastSign = Date.now();
    })();
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      if (this.messages !== messages) break;
      this.lastSign = Date.now();
      if (m.seq <= this.last) continue;
      this.last = m.seq;
      const handled = this.opts.onMessage(m);
      if (!handled) continue;
      this.busy = true;
      try {
        await handled;
      } finally {
        this.busy = false;
        this.lastSign = Date.now();
      }
    }
  }

  /** Drops the consumer and follows with a new one, once at a time. */
  private refollow(why: string): Promise<void> {
    const { stream, filter } = this.opts;
    this.refollowing ??= (async () => {
      this.logger.warn(`following ${filter} of ${stream} again after message ${this.last}: ${why}`);
      this.messages?.stop();
      this.messages = undefined;
      try {
        await this.follow();
      } catch (err) {
        this.logger.warn(`following ${filter} of ${stream} again failed, will retry: ${(err as Error).message}`);
      } finally {
        this.refollowing = undefined;
      }
    })();
    return this.refollowing;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.watchdog);
    this.messages?.stop();
  }
}
