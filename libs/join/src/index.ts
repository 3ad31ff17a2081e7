export * from './join.js';
export * from './joined-identity.js';
export * from './agent-bus.js';
