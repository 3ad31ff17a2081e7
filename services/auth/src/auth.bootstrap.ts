import { Logger } from '@nestjs/common';
import { jetstream } from '@nats-io/jetstream';
import { connectNats, listenRpc, openBucket, sessionEntry, setUpBus, type BusAccess, type BusSigner, type RunningService } from '#libs/bus';
import { Buckets, clusterFilter, QueueGroup, Streams } from '#libs/events';
import type { StaticToken } from '#libs/config';
import { EventStore } from '#libs/eventstore';
import { writeAdminIdentity } from './admin-identity.js';
import { AuthModule } from './auth.module.js';
import { AuthView } from './auth.view.js';
import { CertAuthorities } from './cas/cert-authorities.js';
import { WebSessions } from './users/web-sessions.js';
import { JoinListener } from './join-listener.js';
import { LocksService } from './locks/locks.service.js';
import { RolesService } from './roles/roles.service.js';
import { TokensService } from './tokens/tokens.service.js';
import { UsersService } from './users/users.service.js';

export interface AuthOptions {
  bus: BusAccess;
  /** Issues the bus credentials of processes that join or renew. */
  busSigner: BusSigner;
  /** Used when the cluster is created; afterwards the CAs' cluster name wins. */
  clusterName: string;
  dataDir: string;
  kek: Buffer;
  /** Copies of every stream and bucket (`teleport.nats.replicas`). */
  replicas?: number;
  /** `auth_service.listen_addr`: where proxies join with a token (JoinListener). */
  joinListenAddr?: string;
  /** Join tokens of the config file (auth_service.tokens): valid as long as it names them. */
  staticTokens?: StaticToken[];
}

export async function startAuth(options: AuthOptions): Promise<RunningService> {
  const logger = new Logger('auth');
  const nc = await connectNats(options.bus, 'auth');
  await setUpBus(nc, options.replicas);
  const sessionsBucket = await openBucket(nc, Buckets.Sessions);
  const store = await EventStore.open(nc, Streams.Cluster);
  const view = new AuthView();
  const projection = await store.follow(clusterFilter(), (subject, commit) => view.apply(subject, commit));

  const cas = new CertAuthorities(store, view, options.kek);
  await cas.ensure(options.clusterName);
  const roles = new RolesService(store, view, projection);
  await roles.ensureBuiltins();
  const locks = new LocksService(store, jetstream(nc), view, projection, cas);
  const users = new UsersService(store, view, projection, roles, cas, locks);
  const tokens = new TokensService(store, view, projection, cas, options.kek, options.busSigner, options.staticTokens ?? []);
  await writeAdminIdentity(options.dataDir, cas);

  const app = await listenRpc(
    AuthModule.register({
      cas,
      roles,
      users,
      tokens,
      locks,
      webSessions: new WebSessions(await openBucket(nc, Buckets.WebSessions), users, locks),
      busSigner: options.busSigner,
      sessions: { get: (sid) => sessionEntry(sessionsBucket, sid) },
    }),
    nc,
    QueueGroup.Auth,
  );
  const joins = options.joinListenAddr ? await JoinListener.start(options.joinListenAddr, cas, tokens) : undefined;
  logger.log(`auth service ready for cluster "${cas.clusterName()}"`);
  return {
    name: 'auth',
    async close() {
      await joins?.close();
      await app.close();
      projection.stop();
      await nc.close();
    },
  };
}
