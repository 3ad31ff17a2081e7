import { Logger } from '@nestjs/common';
import type { JetStreamClient } from '@nats-io/jetstream';
import { auditSubject } from '#libs/events';
import { trimToMaxSize } from './audit-trim.js';

export interface AuditRecord {
  sid: string;
  event: string;
  uid: string;
  [field: string]: unknown;
}

const IN_FLIGHT = 64;
const RETRY_MS = 500;
/** NATS's default max_payload, for when the server has not said yet. */
const DEFAULT_MAX_BYTES = 1024 * 1024;

/** An event ready to publish: serialized once, when it is queued. */
interface Queued {
  subject: string;
  body: string;
  uid: string;
}
/**
 * Publishes audit events to the AUDIT stream without ever making the relay wait: events queue here
 * and are retried until JetStream acknowledges them (the uid is the message id, so a retry after a
 * lost ack is not stored twice). The queue is bounded: near the limit new sessions are refused;
 * at the limit a session must close rather than run unaudited. An event bigger than a NATS message is
 * trimmed to fit: retried as it was, it could never be stored and would hold up every later one.
 */
export class AuditEmitter {
  private readonly queue: Queued[] = [];
  private inFlight = 0;
  private readonly logger = new Logger('db');
  private failing = false;

  constructor(
    private readonly js: JetStreamClient,
    readonly capacity = 100_000,
    /** The largest message the NATS server takes (its max_payload). */
    private readonly maxBytes: () => number = () => DEFAULT_MAX_BYTES,
  ) {}

  /** False when new sessions must be refused. */
  acceptingSessions(): boolean {
    return this.queue.length < this.capacity * 0.8;
  }

  /** Queues an event; false when the queue is full (the caller ends its session). */
  emit(record: AuditRecord): boolean {
    if (this.queue.length >= this.capacity) return false;
    const max = this.maxBytes();
    let body = JSON.stringify(record);
    if (Buffer.byteLength(body) > max) body = JSON.stringify(trimToMaxSize(record, max));
    this.queue.push({ subject: auditSubject(record.sid, record.event), body, uid: record.uid });
    this.pump();
    return true;
  }

  pending(): number {
    return this.queue.length + this.inFlight;
  }

  private pump(): void {
    while (this.inFlight < IN_FLIGHT && this.queue.length && !this.failing) {
      const record = this.queue.shift()!;
      this.inFlight++;
      this.js
        .publish(record.subject, record.body, { msgID: record.uid })
        .then(() => {
          if (this.failing) this.logger.log('audit events are being stored again');
          this.failing = false;
        })
        .catch((err: Error) => {
          this.queue.unshift(record);
          if (!this.failing) this.logger.warn(`cannot store audit events (${err.message}); holding ${this.queue.length} and retrying`);
          this.failing = true;
          setTimeout(() => {
            this.failing = false;
            this.pump();
          }, RETRY_MS).unref();
        })
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }

  /** Resolves when every queued event is stored, or after `timeoutMs`. */
  async drain(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
