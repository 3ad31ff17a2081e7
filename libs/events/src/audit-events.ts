import { randomUUID } from 'node:crypto';
// Audit event names and codes, as Teleport's audit log writes them (tooling built for it reads ours).

export const AuditEvent = {
  DbCreate: 'db.create',
  DbUpdate: 'db.update',
  DbDelete: 'db.delete',
  LockCreate: 'lock.created',
  LockDelete: 'lock.deleted',
  SessionStart: 'db.session.start',
  SessionEnd: 'db.session.end',
  Query: 'db.session.query',
  QueryFailed: 'db.session.query.failed',
  Result: 'db.session.result',
  MalformedPacket: 'db.session.malformed_packet',
  Parse: 'db.session.postgres.statements.parse',
  Bind: 'db.session.postgres.statements.bind',
  Execute: 'db.session.postgres.statements.execute',
  Close: 'db.session.postgres.statements.close',
  Function: 'db.session.postgres.function',
  PermissionsUpdate: 'db.session.permissions.update',
  UserCreate: 'db.session.user.create',
  UserDeactivate: 'db.session.user.deactivate',
} as const;
export type AuditEvent = (typeof AuditEvent)[keyof typeof AuditEvent];

/** Codes of events that succeeded (or of events with one code). */
export const AuditCode: Record<AuditEvent, string> = {
  [AuditEvent.DbCreate]: 'TDB03I',
  [AuditEvent.DbUpdate]: 'TDB04I',
  [AuditEvent.DbDelete]: 'TDB05I',
  [AuditEvent.LockCreate]: 'TLK00I',
  [AuditEvent.LockDelete]: 'TLK01I',
  [AuditEvent.SessionStart]: 'TDB00I',
  [AuditEvent.SessionEnd]: 'TDB01I',
  [AuditEvent.Query]: 'TDB02I',
  [AuditEvent.QueryFailed]: 'TDB02W',
  [AuditEvent.Result]: 'TDB10I',
  [AuditEvent.MalformedPacket]: 'TDB06I',
  [AuditEvent.Parse]: 'TPG00I',
  [AuditEvent.Bind]: 'TPG01I',
  [AuditEvent.Execute]: 'TPG02I',
  [AuditEvent.Close]: 'TPG03I',
  [AuditEvent.Function]: 'TPG04I',
  [AuditEvent.PermissionsUpdate]: 'TDB07I',
  [AuditEvent.UserCreate]: 'TDB08I',
  [AuditEvent.UserDeactivate]: 'TDB09I',
};

/** Codes of provisioning events that failed. */
export const FailedAuditCode = {
  [AuditEvent.UserCreate]: 'TDB08W',
  [AuditEvent.UserDeactivate]: 'TDB09W',
} as const;

/** A denied or failed session start. */
export const SESSION_START_FAILED_CODE = 'TDB00W';

/**
 * The `db.session.start` event (TDB00W) of a session refused before it had an audit stream of its own:
 * by the broker, or by the Database Service before the broker was asked. The first and only event of its
 * session (ei 0); `fields` are what the refusing side knows of the session.
 */
export function sessionStartFailed(
  fields: { sid: string; user: string; 'addr.remote': string; db_name: string; db_user: string } & Record<string, unknown>,
  message: string,
): { uid: string; event: string } & Record<string, unknown> {
  return {
    ei: 0,
    event: AuditEvent.SessionStart,
    uid: randomUUID(),
    code: SESSION_START_FAILED_CODE,
    time: new Date().toISOString(),
    ...fields,
    db_protocol: 'postgres',
    success: false,
    error: message,
    message,
  };
}

/** Fields every audit event carries. */
export interface AuditEventBase {
  ei: number;
  event: string;
  uid: string;
  code: string;
  /** RFC 3339 with milliseconds. */
  time: string;
  cluster_name: string;
  user: string;
}

export interface DbResourceAuditEvent extends AuditEventBase {
  name: string;
  db_protocol: string;
  db_uri: string;
  db_labels: Record<string, string>;
}

/** `lock.created` / `lock.deleted`, as Teleport's LockCreate / LockDelete: the lock's name and target, `user` who acted. */
export interface LockAuditEvent extends AuditEventBase {
  name: string;
  /** lock.created: the lock's expiry (RFC 3339), absent for a lock without one. */
  expires?: string;
  /** lock.created: who wrote the lock, as `user`. */
  updated_by?: string;
  /** lock.created: the target again, where Teleport's older events keep it. */
  target?: { user?: string; role?: string };
  lock: { target: { user?: string; role?: string } };
}

/** What every event of one database session shares. */
export interface SessionMetadata {
  cluster_name: string;
  sid: string;
  user: string;
  server_id: string;
  'addr.remote': string;
  db_service: string;
  db_protocol: 'postgres';
  db_uri: string;
  db_name: string;
  db_user: string;
  db_roles: string[];
  db_type: string;
  db_origin: string;
  user_agent?: string;
}
