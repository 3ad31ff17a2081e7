export * from './join.js';
export * from './joined-identity.js';
