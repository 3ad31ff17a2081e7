export type Outcome = 'ok' | 'active' | 'denied' | 'failed';

/** One recorded database session, as `tsh recordings ls` lists it. */
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
  statements: number;
  errors: number;
  outcome: Outcome;
  message?: string;
}

export interface SessionsPage {
  sessions: SessionSummary[];
  next_cursor?: string;
}
