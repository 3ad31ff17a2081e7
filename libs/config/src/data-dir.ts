import { join } from 'node:path';

// Layout of `teleport.data_dir`.

/** The identity `tctl` uses on the auth host (built-in role Admin). */
export function adminIdentityPath(dataDir: string): string {
  return join(dataDir, 'admin-identity.pem');
}

/** JetStream store of the embedded NATS server. */
export function embeddedNatsDir(dataDir: string): string {
  return join(dataDir, 'nats');
}
