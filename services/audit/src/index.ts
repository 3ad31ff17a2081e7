export { startAudit, type AuditOptions } from './audit.bootstrap.js';
export { AuditStore } from './audit-store.js';
