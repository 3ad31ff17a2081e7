export * from './subjects.js';
export * from './envelope.js';
export * from './cluster-events.js';
export * from './audit-events.js';
export * from './rpc/common.js';
export * as AuthRpc from './rpc/auth.js';
export * as InventoryRpc from './rpc/inventory.js';
export * as DataPlane from './rpc/data-plane.js';
export * as AuditRpc from './rpc/audit.js';
