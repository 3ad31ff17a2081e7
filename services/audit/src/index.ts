export { startAudit } from './audit-thread.js';
export type { AuditOptions } from './audit.bootstrap.js';
export { AuditStore } from './audit-store.js';
