export * from './errors.js';
export { freePort } from './free-port.js';
export { startNats, type NatsServer } from './nats-server.js';
export { pgBinDir } from './postgres-bin.js';
export { startPostgres, type PostgresCluster, type PostgresTls } from './postgres-cluster.js';
export { acceptsTcp } from './startup.js';
export { runCommand, type CommandResult } from './run-command.js';
export { httpsInsecure } from './https-insecure.js';
export { trackCleanup, untrackCleanup } from './exit-cleanup.js';
