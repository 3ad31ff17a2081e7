export { startInventory } from './inventory.bootstrap.js';
export { type DbResource } from './db-resource.js';
