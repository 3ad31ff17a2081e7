// The audit API's session summary, as the server defines it (`tsh recordings ls` lists the same).
export type { SessionSummary } from '../../libs/events/src/rpc/audit-sessions.js';
