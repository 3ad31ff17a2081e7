import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  BusCredentials,
  busIdentity,
  BusRole,
  busSigner,
  connectNats,
  loadBusKeys,
  RpcClient,
  userKeyFromSeed,
  type BusAccess,
  type BusIdentity,
} from '#libs/bus';
import { busKeysPath } from '#libs/config';
import { loadKek } from '#services/auth';

/** A cluster's NATS and the data dir of its auth host (which keeps the bus keys and the kek). */
export interface BusTarget {
  nats: { url: string };
  /** Every node of a NATS cluster. */
  natsNodes?: { url: string }[];
  dataDir: string;
}

/** Bus access as `identity` (the cluster's admin unless said), signed with the cluster's own bus keys. */
export async function busAccess(cluster: BusTarget, identity: BusIdentity = busIdentity(BusRole.Admin, 'tests')): Promise<BusAccess> {
  const keys = loadBusKeys(busKeysPath(cluster.dataDir), loadKek({ file: join(cluster.dataDir, 'kek') }, false));
  const credentials = await BusCredentials.local(busSigner(keys), identity);
  credentials.stopRenewal();
  return { servers: (cluster.natsNodes ?? [cluster.nats]).map((n) => n.url), credentials };
}

/** A connection to the cluster's NATS and an RPC client on it, as `identity`; close the connection after. */
export async function busClient(cluster: BusTarget, identity?: BusIdentity): Promise<{ nc: NatsConnection; rpc: RpcClient }> {
  const access = await busAccess(cluster, identity);
  const nc = await connectNats(access, 'tests');
  return { nc, rpc: new RpcClient(nc, access.credentials.identity) };
}

/**
 * The bus credentials a Database Service keeps in its data dir: what anyone who took over its host
 * would hold.
 */
export function dbServiceCredentials(dataDir: string): BusCredentials {
  const meta = JSON.parse(readFileSync(join(dataDir, 'db-cluster.json'), 'utf8')) as { bus_seed: string; bus_jwt: string };
  const hostId = readFileSync(join(dataDir, 'host_uuid'), 'utf8').trim();
  return new BusCredentials(busIdentity(BusRole.Db, hostId), userKeyFromSeed(meta.bus_seed), meta.bus_jwt);
}
