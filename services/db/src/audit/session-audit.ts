import { randomUUID } from 'node:crypto';
import { auditSubject, type SessionMetadata } from '#libs/events';
import { trimToMaxSize, type AuditRecord } from './audit-trim.js';
import { millisecondClock, SessionEventEncoder } from './event-encoder.js';

/** Where events go: the audit spool (staged, then written together by `commit`). */
export interface AuditSink {
  stage(subject: string, uid: string, body: string): boolean;
  commit(): boolean;
  acceptingSessions(): boolean;
  refusal(): string;
}

const clock = millisecondClock();

/**
 * The audit events of one database session in Teleport's format: numbered from 0 (`ei`), each with a
 * fresh uid, serialized once and staged in the spool. An event bigger than a NATS message has what
 * the user sent shortened to fit, as Teleport does: kept whole it could never be stored, and would
 * hold up every later event.
 */
export class SessionAudit {
  private ei = 0;
  private readonly encoder: SessionEventEncoder;

  constructor(
    private readonly meta: SessionMetadata,
    private readonly sink: AuditSink,
    /** The largest event body a NATS message can carry (max_payload less room for subject and headers). */
    private readonly maxEventBytes: () => number,
    private readonly now: () => string = clock,
  ) {
    this.encoder = new SessionEventEncoder(meta);
  }

  /** Stages one event; false when the spool cannot take it. */
  emit(event: string, code: string, fields: Record<string, unknown>): boolean {
    const uid = randomUUID();
    let body = this.encoder.encode(this.ei++, event, uid, code, this.now(), fields);
    const max = this.maxEventBytes();
    if (body.length * 3 > max && Buffer.byteLength(body) > max) body = JSON.stringify(trimToMaxSize(JSON.parse(body) as AuditRecord, max));
    return this.sink.stage(auditSubject(this.meta.sid, event), uid, body);
  }

  /** Writes the staged events of every session; false if they could not be written. */
  commit(): boolean {
    return this.sink.commit();
  }
}
