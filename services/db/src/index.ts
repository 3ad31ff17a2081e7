export { startDatabaseService, type DatabaseServiceOptions } from './db.bootstrap.js';
