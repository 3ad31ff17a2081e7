export { ProvisioningError } from './errors.js';
export { Provisioner, type Activated, type AdminUser, type ProvisionedSession, type UserConnection } from './provisioner.js';
export { ProvisioningResponder } from './responder.js';
export { RemoteProvisioner } from './remote-provisioner.js';
