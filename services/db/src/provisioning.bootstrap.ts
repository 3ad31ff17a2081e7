import { Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, RpcClient, watchPeers, type BusAccess, type RunningService } from '#libs/bus';
import { BadParameterError } from '#libs/common';
import type { DatabaseConfig } from '#libs/config';
import { Rpc } from '#libs/events';
import { connectAgentBus, joinCluster, JoinedProcess, type JoinOptions } from '#libs/join';
import { ProvisioningResponder } from '#services/provisioning';
import { provisionersOf } from './db.bootstrap.js';
import { UpstreamAuthenticator } from './upstream-auth.js';

export interface ProvisioningServiceOptions {
  hostId: string;
  /** The databases whose admin users this process holds (db_service.databases with admin_user). */
  databases: DatabaseConfig[];
  /** Bus credentials of the auth host, or else how to join the cluster (a `provisioning` token). */
  bus: BusAccess | Omit<JoinOptions, 'role'>;
}

/**
 * Provisioning on its own (`teleport start --roles=provisioning`): the one process of a network that
 * holds the databases' admin users and creates, grants and removes the users of sessions on the bus,
 * so the Database Services (with `provisioning_service.enabled: no`) need not.
 */
export async function startProvisioningService(options: ProvisioningServiceOptions): Promise<RunningService> {
  const databases = options.databases.filter((db) => db.admin_user);
  if (!databases.length) throw new BadParameterError('no database to provision users for: list db_service.databases with their admin_user');
  let bus: { nc: NatsConnection; rpc: RpcClient };
  if ('credentials' in options.bus) {
    const nc = await connectNats(options.bus, `provisioning-${options.hostId}`);
    bus = { nc, rpc: new RpcClient(nc, options.bus.credentials.identity) };
  } else {
    const joined = await joinCluster({ ...options.bus, role: 'Provisioning' });
    bus = await connectAgentBus(
      new JoinedProcess(joined, 'Provisioning', options.hostId, options.bus.dataDir),
      `provisioning-${options.hostId}`,
    );
  }
  const unwatchPeers = watchPeers(bus.rpc, [Rpc.Auth.Ping, Rpc.Broker.Ping]);
  const upstreamAuth = await UpstreamAuthenticator.create(databases, bus.rpc, options.hostId);
  const responder = new ProvisioningResponder(bus.nc, bus.rpc, provisionersOf(databases, upstreamAuth));
  responder.start();
  new Logger('provisioning').log('the provisioning service is up');
  return {
    name: 'provisioning',
    async close() {
      unwatchPeers();
      responder.stop();
      await bus.nc.close();
    },
  };
}
