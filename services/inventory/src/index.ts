export { startInventory } from './inventory.bootstrap.js';
export { servedBy, ServedDbSchema, type ServedDb } from './served-db.js';
