// Audit event names and codes, as Teleport's audit log writes them (tooling built for it reads ours).

export const AuditEvent = {
  DbCreate: 'db.create',
  DbUpdate: 'db.update',
  DbDelete: 'db.delete',
} as const;
export type AuditEvent = (typeof AuditEvent)[keyof typeof AuditEvent];

export const AuditCode: Record<AuditEvent, string> = {
  [AuditEvent.DbCreate]: 'TDB03I',
  [AuditEvent.DbUpdate]: 'TDB04I',
  [AuditEvent.DbDelete]: 'TDB05I',
};

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
