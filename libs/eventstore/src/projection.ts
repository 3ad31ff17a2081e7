import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '#libs/events';
import { addReadinessCheck, CHECK_MS, withinMs } from '#libs/telemetry';
import { decodeCommit } from './commit.js';
import type { EventStore } from './event-store.js';
import { retryThroughFailover } from './failover.js';

export type CommitHandler = (subject: string, events: EventEnvelope[], seq: number) => void;

/** How often the server tells a quiet consumer that it is still there. */
const HEARTBEAT_MS = 1_000;
/** Silence after which the consumer is taken for gone: three heartbeats missed. */
const SILENCE_MS = 3 * HEARTBEAT_MS;

/**
 * An in-memory read model fed by an ordered consumer: it replays the stream from the first message,
 * then follows. `sync()` gives read-your-writes across processes: it waits until every commit that
 * existed when it was called has been applied. A message that is not a commit, or that the handler
 * cannot apply, is logged and passed over: one bad message must not stop every later one. While it
 * follows, /readyz asks whether it keeps up (`behind`).
 *
 * The ordered consumer is one copy on one NATS node. When that node dies, nats.js cannot tell that the
 * consumer is gone (asking about it times out rather than saying "not found") and would wait for it for
 * good: every `sync()` after would hang. So the projection listens for the server's heartbeats itself,
 * and after `SILENCE_MS` without a message or a heartbeat it follows again, with a new consumer that
 * starts at the first commit it has not applied.
 */
export class Projection {
  private applied = 0;
  private waiters: Array<{ seq: number; resolve: () => void }> = [];
  private messages?: ConsumerMessages;
  private lastSign = 0;
  private watchdog?: NodeJS.Timeout;
  private refollowing?: Promise<void>;
  private stopped = false;
  private removeCheck?: () => void;
  private readonly logger = new Logger('eventstore');

  constructor(
    private readonly store: EventStore,
    private readonly js: JetStreamClient,
    private readonly filter: string,
    private readonly onCommit: CommitHandler,
  ) {}

  async start(): Promise<void> {
    await this.follow();
    let tick = Date.now();
    this.watchdog = setInterval(() => {
      const now = Date.now();
      // A tick that comes late means this process was busy: what arrived meanwhile is still unread.
      const late = now - tick > 2 * HEARTBEAT_MS;
      tick = now;
      if (!late && now - this.lastSign > SILENCE_MS) void this.refollow(`nothing from its consumer for ${SILENCE_MS / 1000} s`);
    }, HEARTBEAT_MS).unref();
    await this.sync();
    this.removeCheck = addReadinessCheck(() => this.behind());
  }

  /** Starts a consumer at the first commit not applied yet. */
  private async follow(): Promise<void> {
    const consumer = await retryThroughFailover(() =>
      this.js.consumers.get(this.store.stream, { filter_subjects: this.filter, opt_start_seq: this.applied + 1 }),
    );
    const messages = await consumer.consume({ idle_heartbeat: HEARTBEAT_MS });
    if (this.stopped) return messages.stop();
    this.messages = messages;
    this.lastSign = Date.now();
    void this.run(messages).catch((err: Error) => this.logger.error(`following ${this.filter} stopped: ${err.message}`));
    void (async () => {
      for await (const s of messages.status()) if (s.type === 'heartbeat' && this.messages === messages) this.lastSign = Date.now();
    })();
  }

  /** Drops the consumer and follows with a new one, once at a time. */
  private refollow(why: string): Promise<void> {
    this.refollowing ??= (async () => {
      this.logger.warn(`following ${this.filter} again from message ${this.applied + 1}: ${why}`);
      this.messages?.stop();
      this.messages = undefined;
      try {
        await this.follow();
      } catch (err) {
        this.logger.warn(`following ${this.filter} again failed, will retry: ${(err as Error).message}`);
      } finally {
        this.refollowing = undefined;
      }
    })();
    return this.refollowing;
  }

  /** Nothing when every commit that exists now is applied within a moment; else how far behind it is. */
  private async behind(): Promise<string[]> {
    const last = await this.store.lastSequenceOn(this.filter);
    if (last <= this.applied) return [];
    const late = `the projection of ${this.filter} is ${last - this.applied} messages behind stream ${this.store.stream}`;
    return withinMs(
      this.waitFor(last).then(() => []),
      CHECK_MS,
      late,
    );
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      if (this.messages !== messages) break;
      this.lastSign = Date.now();
      if (m.seq <= this.applied) continue;
      this.apply(m);
      this.advance(m.seq);
    }
  }

  private apply(m: JsMsg): void {
    let commit: EventEnvelope[];
    try {
      commit = decodeCommit(m);
    } catch (err) {
      return this.logger.warn(`skipped ${(err as Error).message}`);
    }
    try {
      this.onCommit(m.subject, commit, m.seq);
    } catch (err) {
      this.logger.warn(`skipped message ${m.seq} on ${m.subject}: applying it failed: ${(err as Error).message}`);
    }
  }

  private advance(seq: number): void {
    this.applied = Math.max(this.applied, seq);
    const ready = this.waiters.filter((w) => w.seq <= this.applied);
    this.waiters = this.waiters.filter((w) => w.seq > this.applied);
    for (const w of ready) w.resolve();
  }

  /** Resolves once the projection has applied the stream up to `seq`. */
  waitFor(seq: number): Promise<void> {
    if (seq <= this.applied || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  /** Waits until the projection has applied every commit on its filter that exists now. */
  async sync(): Promise<void> {
    await this.waitFor(await this.store.lastSequenceOn(this.filter));
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.watchdog);
    this.removeCheck?.();
    this.messages?.stop();
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }
}
