import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '#libs/events';
import { addReadinessCheck, CHECK_MS, withinMs } from '#libs/telemetry';
import { decodeCommit } from './commit.js';
import type { EventStore } from './event-store.js';
import { StreamFollower } from './follower.js';

export type CommitHandler = (subject: string, events: EventEnvelope[], seq: number) => void;

/**
 * An in-memory read model fed by an ordered consumer: it replays the stream from the first message,
 * then follows. `sync()` gives read-your-writes across processes: it waits until every commit that
 * existed when it was called has been applied. A message that is not a commit, or that the handler
 * cannot apply, is logged and passed over: one bad message must not stop every later one. While it
 * follows, /readyz asks whether it keeps up (`behind`). Its consumer is a StreamFollower's, which
 * follows again when the NATS node holding it dies: a `sync()` waits out a failover, not for good.
 */
export class Projection {
  private applied = 0;
  private waiters: Array<{ seq: number; resolve: () => void }> = [];
  private follower?: StreamFollower;
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
    this.follower = await StreamFollower.start(this.js, {
      stream: this.store.stream,
      filter: this.filter,
      onMessage: (m) => {
        this.apply(m);
        this.advance(m.seq);
      },
    });
    await this.sync();
    this.removeCheck = addReadinessCheck(() => this.behind());
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
    this.removeCheck?.();
    this.follower?.stop();
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }
}
