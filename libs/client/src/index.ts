export * from './api-client.js';
export * from './profile.js';
