import { Logger } from '@nestjs/common';
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { AuditSpool } from './audit-spool.js';
import type { SpoolRecord } from './spool-record.js';

/** JetStream's duplicate detection: a message with an id it stored within its duplicate window is not stored again. */
const MSG_ID_HEADER = 'Nats-Msg-Id';
const READ_BYTES = 256 * 1024;

export interface SpoolPublisherOptions {
  /** Messages published and not yet acknowledged, at most. */
  windowMessages?: number;
  windowBytes?: number;
  /** Without an acknowledgement for this long, everything unacknowledged is sent again. */
  ackTimeoutMs?: number;
  retryMs?: number;
  /** Where acknowledgements come back: the connection's inbox prefix. */
  inboxPrefix?: string;
  /**
   * How long events committed to the spool may wait so that they are published together (default
   * 5 ms, the spool's own fdatasync interval), unless `lingerBytes` of them wait already. One write
   * to NATS then carries many events and their acknowledgements come back together: per event, the
   * server and both clients do a fraction of the work. Waiting costs no safety: they are on disk.
   */
  lingerMs?: number;
  lingerBytes?: number;
}

interface InFlight {
  token: number;
  end: number;
  bytes: number;
  acked: boolean;
}

/**
 * Sends the audit spool to the AUDIT stream in order, pipelined: up to a window of messages is
 * published without waiting, each with its uid as JetStream message id and a reply subject of this
 * publisher's inbox, where JetStream's acknowledgements arrive; what sessions commit within a few
 * milliseconds goes out together (`lingerMs`). The spool's acknowledged position advances over every
 * record acknowledged so far without a gap. On an error, a timeout or a reconnect, everything
 * unacknowledged is sent again from there; JetStream drops what it already stored. Plain publishes,
 * no JetStream API call: this process needs no right but publishing `audit.>` and receiving on its
 * inbox.
 */
export class SpoolPublisher {
  private readonly logger = new Logger('db');
  private readonly inbox: string;
  private readonly windowMessages: number;
  private readonly windowBytes: number;
  private readonly ackTimeoutMs: number;
  private readonly retryMs: number;
  private readonly lingerMs: number;
  private readonly lingerBytes: number;
  private lingering?: NodeJS.Timeout;
  private sub?: Subscription;
  private inFlight: InFlight[] = [];
  private head = 0;
  private inFlightBytes = 0;
  private sendPos: number;
  private ackedPos: number;
  private nextToken = 1;
  /** Acknowledgements of tokens below this belong to messages sent before a reset: ignored. */
  private firstToken = 1;
  /** Changes at every reset, so a read that was under way is not sent. */
  private generation = 0;
  private pumping = false;
  private again = false;
  private connected = true;
  private backingOff?: NodeJS.Timeout;
  private failures = 0;
  private lastProgress = Date.now();
  private watchdog?: NodeJS.Timeout;
  private stopped = false;
  /** Events JetStream acknowledged, and the times publishing failed and started over (for the metrics). */
  readonly stats = { published: 0, failures: 0 };

  constructor(
    private readonly nc: NatsConnection,
    private readonly spool: AuditSpool,
    options: SpoolPublisherOptions = {},
  ) {
    this.inbox = createInbox(options.inboxPrefix);
    this.windowMessages = options.windowMessages ?? 4096;
    this.windowBytes = options.windowBytes ?? 8 * 1024 * 1024;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 5_000;
    this.retryMs = options.retryMs ?? 250;
    this.lingerMs = options.lingerMs ?? 5;
    this.lingerBytes = options.lingerBytes ?? 64 * 1024;
    this.sendPos = this.ackedPos = spool.acknowledged;
  }

  start(): void {
    this.sub = this.nc.subscribe(`${this.inbox}.*`, { callback: (_err, msg) => this.onAck(msg) });
    this.spool.onCommit(() => this.committed());
    void this.watchConnection();
    this.watchdog = setInterval(() => {
      if (this.pending() && this.inFlight.length > this.head && Date.now() - this.lastProgress > this.ackTimeoutMs)
        this.fail(`no acknowledgement within ${this.ackTimeoutMs / 1000} s`);
    }, 1_000);
    this.watchdog.unref();
    this.pump();
  }

  /** Bytes of events in the spool that the AUDIT stream has not acknowledged. */
  pending(): number {
    return this.spool.end - this.ackedPos;
  }

  /** Seconds the stream has not acknowledged anything while events wait; 0 when none wait. */
  lagSeconds(now = Date.now()): number {
    return this.pending() > 0 ? (now - this.lastProgress) / 1000 : 0;
  }

  /** Waits until every spooled event is acknowledged, or `timeoutMs`, then stops. */
  async close(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.stopped = true;
    clearTimeout(this.lingering);
    clearInterval(this.watchdog);
    clearTimeout(this.backingOff);
    this.sub?.unsubscribe();
  }

  private async watchConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') {
        this.connected = false;
        this.reset();
      } else if (status.type === 'reconnect') {
        this.connected = true;
        this.lastProgress = Date.now();
        this.pump();
      }
    }
  }

  /** Events were committed: published once `lingerMs` passed since the first of them, or `lingerBytes` of them wait. */
  private committed(): void {
    if (this.spool.end - this.sendPos >= this.lingerBytes) return this.pump();
    this.lingering ??= setTimeout(() => {
      this.lingering = undefined;
      this.pump();
    }, this.lingerMs);
  }

  private room(): boolean {
    return this.inFlight.length - this.head < this.windowMessages && this.inFlightBytes < this.windowBytes;
  }

  private pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.run().finally(() => {
      this.pumping = false;
      // A commit or an acknowledgement that came after the loop's last look.
      if (this.again) this.pump();
    });
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      while (!this.stopped && this.connected && !this.backingOff && this.sendPos < this.spool.end && this.room()) {
        const generation = this.generation;
        const { records, next } = await this.spool.read(this.sendPos, READ_BYTES).catch((err: Error) => {
          this.logger.error(`cannot read the audit spool: ${err.message}`);
          return { records: [], next: this.sendPos };
        });
        if (generation !== this.generation) continue;
        if (!records.length && next === this.sendPos) break;
        for (const record of records) if (!this.send(record)) break;
        if (generation !== this.generation) continue;
        // Records that could not be read were skipped: nothing of them will ever be acknowledged.
        if (!records.length) this.skip(next);
        else this.sendPos = records.at(-1)!.end;
      }
    } while (this.again);
  }

  private send(record: SpoolRecord): boolean {
    const h = headers();
    h.set(MSG_ID_HEADER, record.uid);
    const token = this.nextToken++;
    try {
      this.nc.publish(record.subject, record.body, { reply: `${this.inbox}.${token}`, headers: h });
    } catch (err) {
      this.fail((err as Error).message);
      return false;
    }
    if (this.inFlight.length === this.head) this.lastProgress = Date.now();
    this.inFlight.push({ token, end: record.end, bytes: record.end - record.start, acked: false });
    this.inFlightBytes += record.end - record.start;
    return true;
  }

  /** Unreadable records were passed over: acknowledged as if stored once everything before them is. */
  private skip(next: number): void {
    this.sendPos = next;
    if (this.inFlight.length === this.head) this.advance(next);
    else this.inFlight.push({ token: this.nextToken++, end: next, bytes: 0, acked: true });
  }

  private onAck(msg: Msg): void {
    // Only a full window holds events back: otherwise they go when their linger ends.
    const full = !this.room();
    const token = Number(msg.subject.slice(this.inbox.length + 1));
    if (token < this.firstToken || this.inFlight.length === this.head) return;
    const entry = this.inFlight[this.head + token - this.inFlight[this.head]!.token];
    if (!entry || entry.token !== token) return;
    const problem = ackProblem(msg);
    if (problem) return this.fail(problem);
    entry.acked = true;
    let acked = this.ackedPos;
    while (this.head < this.inFlight.length && this.inFlight[this.head]!.acked) {
      const done = this.inFlight[this.head++]!;
      this.inFlightBytes -= done.bytes;
      if (done.bytes) this.stats.published++;
      acked = done.end;
    }
    if (this.head > 1024 && this.head * 2 > this.inFlight.length) {
      this.inFlight = this.inFlight.slice(this.head);
      this.head = 0;
    }
    if (acked > this.ackedPos) this.advance(acked);
    if (full) this.pump();
  }

  private advance(position: number): void {
    this.ackedPos = position;
    this.lastProgress = Date.now();
    this.spool.acknowledge(position);
    if (this.failures) this.logger.log('audit events are being stored again');
    this.failures = 0;
  }

  /** Forgets what is in flight: it is all sent again from the last acknowledged position. */
  private reset(): void {
    this.generation++;
    this.firstToken = this.nextToken;
    this.inFlight = [];
    this.head = 0;
    this.inFlightBytes = 0;
    this.sendPos = this.ackedPos;
  }

  private fail(reason: string): void {
    if (this.backingOff) return;
    this.stats.failures++;
    if (!this.failures)
      this.logger.warn(`cannot store audit events (${reason}); ${this.pending()} bytes wait in the audit spool; retrying`);
    this.failures++;
    this.reset();
    const delay = Math.min(5_000, this.retryMs * 2 ** Math.min(this.failures - 1, 5));
    this.backingOff = setTimeout(() => {
      this.backingOff = undefined;
      this.lastProgress = Date.now();
      this.pump();
    }, delay);
  }
}

/** Why JetStream did not store a message, from its reply; undefined when it did. */
function ackProblem(msg: Msg): string | undefined {
  if (msg.headers?.hasError) return `${msg.headers.code} ${msg.headers.description || 'no stream takes audit events'}`;
  // A PubAck is {"stream":"AUDIT","seq":N[,"duplicate":true]}; an error {"error":{"code":...,"description":...}}.
  if (msg.data.length > 10 && msg.data[2] === 0x73 /* s */) return undefined;
  try {
    const reply = JSON.parse(msg.string()) as { error?: { code?: number; description?: string } };
    return reply.error ? `${reply.error.code ?? ''} ${reply.error.description ?? 'error'}`.trim() : undefined;
  } catch {
    return 'an acknowledgement that is not JSON';
  }
}
