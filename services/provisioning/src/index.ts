export { ProvisioningError } from './errors.js';
export { Provisioner, type Activated, type AdminUser, type ProvisionedSession, type UserConnection } from './provisioner.js';
