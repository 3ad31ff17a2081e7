export { startDatabaseService, type DatabaseServiceOptions } from './db.bootstrap.js';
export { startProvisioningService } from './provisioning.bootstrap.js';
