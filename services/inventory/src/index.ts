export { startInventory } from './inventory.bootstrap.js';
