export { startAuth, type AuthOptions } from './auth.bootstrap.js';
export { loadKek, type KekSource } from './kek.js';
