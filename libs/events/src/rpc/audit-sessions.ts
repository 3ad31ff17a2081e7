// What the audit service says of sessions; imports nothing, so the web UI's type check reads it alone.

/** `ok`: ended after starting; `active`: no end yet; `denied` / `failed`: refused at the start. */
export type SessionOutcome = 'ok' | 'active' | 'denied' | 'failed';

export interface SessionSummary {
  sid: string;
  cluster_name: string;
  user: string;
  db_service: string;
  db_user: string;
  db_name: string;
  db_type: string;
  start: string;
  end?: string;
  duration_ms?: number;
  /** Queries and executions of prepared statements. */
  statements: number;
  /** Results that were errors. */
  errors: number;
  outcome: SessionOutcome;
  /** Why a session was refused. */
  message?: string;
}

export interface SessionsPage {
  sessions: SessionSummary[];
  next_cursor?: string;
}
