export * from './decider.js';
export * from './errors.js';
export * from './event-store.js';
export * from './projection.js';
export * from './failover.js';
export * from './follower.js';
