export * from './connect.js';
export * from './rpc-client.js';
export * from './rpc-exception.filter.js';
export * from './zod.pipe.js';
export * from './running-service.js';
export * from './service-logger.js';
export * from './buckets.js';
