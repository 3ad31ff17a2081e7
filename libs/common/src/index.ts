export * from './errors.js';
export * from './duration.js';
export * from './version.js';
export * from './addr.js';
export * from './size.js';
export * from './bounded-map.js';
export * from './relay.js';
export * from './session-id.js';
