export * from './api-client.js';
export * from './profile.js';
export * from './db-api.js';
export * from './db-profile.js';
export * from './pg-service-file.js';
export * from './transcript.js';
