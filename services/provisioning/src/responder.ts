import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Logger } from '@nestjs/common';
import { BusRole, serveRequests, type BusIdentity, type RpcClient } from '#libs/bus';
import { AccessDeniedError, ConnectionProblemError } from '#libs/common';
import { DataPlane, provisioningSubject, ProvisioningRpc, ProvisioningVerb, Rpc } from '#libs/events';
import { ProvisioningError } from './errors.js';
import type { Provisioner, ProvisionedSession } from './provisioner.js';

type Infer<T extends import('zod').ZodType> = import('zod').infer<T>;

/** How long an activation holds the user's lock waiting for the Database Service to connect as it. */
const LEASE_MS = 30_000;

interface Lease {
  holder: string;
  connected(result: { processId: number } | 'failed'): void;
}

/**
 * The provisioning service on the bus: answers `provisioning.<database>.activate|deactivate` for the
 * databases it holds the admin user of, and `release-<replica>` for the activations it holds. Alone
 * (`--roles=provisioning`) it serves every Database Service, sharing the requests with its replicas
 * (queue group `provisioning.<database>`); inside a Database Service, that service's sessions only. Each request is checked against the broker's
 * registry: a live session of the Database Service that asks, for that user and exactly the grant the
 * broker made.
 */
export class ProvisioningResponder {
  private readonly logger = new Logger('provisioning');
  private readonly leases = new Map<string, Lease>();
  private readonly subscriptions = new Map<string, Subscription[]>();
  private readonly releaseVerb = `release-${randomUUID()}`;

  constructor(
    private readonly nc: NatsConnection,
    private readonly rpc: RpcClient,
    private readonly provisioners: Map<string, Provisioner>,
    /** Inside a Database Service: its own sessions' requests only (its admin certificates are for them). */
    private readonly onlyFor?: BusIdentity,
  ) {}

  start(): void {
    for (const [database, provisioner] of this.provisioners) this.serve(database, provisioner);
    if (this.provisioners.size) this.logger.log(`provisioning database users of ${[...this.provisioners.keys()].join(', ')}`);
  }

  /** Answers for `database` from now on (a database this service started serving), replacing any earlier provisioner of it. */
  serve(database: string, provisioner: Provisioner): void {
    this.unserve(database);
    const scope = this.onlyFor ? { from: this.onlyFor } : { queue: `provisioning.${database}` };
    this.subscriptions.set(database, [
      serveRequests(
        this.nc,
        provisioningSubject(database, ProvisioningVerb.Activate),
        ProvisioningRpc.ActivateRequest,
        (sender, req) => this.activate(provisioner, sender, req),
        scope,
      ),
      serveRequests(
        this.nc,
        provisioningSubject(database, ProvisioningVerb.Deactivate),
        ProvisioningRpc.DeactivateRequest,
        (sender, req) => this.deactivate(provisioner, sender, req),
        scope,
      ),
      serveRequests(this.nc, provisioningSubject(database, this.releaseVerb), ProvisioningRpc.ReleaseRequest, async (sender, req) =>
        this.release(sender, req),
      ),
    ]);
  }

  /** No longer answers for `database`. */
  unserve(database: string): void {
    for (const sub of this.subscriptions.get(database) ?? []) sub.unsubscribe();
    this.subscriptions.delete(database);
  }

  stop(): void {
    for (const database of [...this.subscriptions.keys()]) this.unserve(database);
    for (const lease of this.leases.values()) lease.connected('failed');
  }

  private async activate(
    provisioner: Provisioner,
    sender: BusIdentity,
    req: Infer<typeof ProvisioningRpc.ActivateRequest>,
  ): Promise<ProvisioningRpc.ActivateReply> {
    await this.verify(sender, req);
    const { session, events } = collecting(req);
    const lease = randomUUID();
    let activated!: () => void;
    const ready = new Promise<void>((resolve) => (activated = resolve));
    const run = provisioner.activate(session, () => {
      activated();
      return new Promise<{ processId: number }>((resolve, reject) => {
        const timer = setTimeout(() => finish('failed'), LEASE_MS);
        const finish = (result: { processId: number } | 'failed') => {
          clearTimeout(timer);
          this.leases.delete(lease);
          if (result === 'failed') reject(new ConnectionProblemError('the Database Service did not connect as the user'));
          else resolve(result);
        };
        this.leases.set(lease, { holder: sender.id, connected: finish });
      });
    });
    // Either the activation reaches the point where the Database Service connects, or it is refused.
    const outcome = await Promise.race([
      ready.then(() => 'ready' as const),
      run.then(
        () => 'ready' as const,
        (err: unknown) => err,
      ),
    ]);
    if (outcome !== 'ready') return { ok: false, refusal: refusalOf(outcome), events };
    // What happens after the connection (a failed login deactivates the user again) is the activation's own.
    run.catch((err: Error) => this.logger.warn({ sid: req.sid, message: err.message }));
    return { ok: true, release: this.releaseVerb, lease, events: [...events] };
  }

  private release(sender: BusIdentity, req: Infer<typeof ProvisioningRpc.ReleaseRequest>): Record<string, never> {
    const lease = this.leases.get(req.lease);
    if (!lease || lease.holder !== sender.id) throw new AccessDeniedError('no such activation is waiting for this Database Service');
    lease.connected('failed' in req ? 'failed' : { processId: req.process_id });
    return {};
  }

  private async deactivate(
    provisioner: Provisioner,
    sender: BusIdentity,
    req: Infer<typeof ProvisioningRpc.DeactivateRequest>,
  ): Promise<ProvisioningRpc.EventsReply> {
    await this.verify(sender, req);
    const { session, events } = collecting(req);
    await provisioner.teardown(session, req.process_id);
    return { events };
  }

  /** The request must be about a live session of the sender, for that user and the grant the broker made. */
  private async verify(sender: BusIdentity, req: { sid: string; user: string; auto_user: unknown }): Promise<void> {
    const refuse = (why: string) => new AccessDeniedError(`provisioning refused for session ${req.sid}: ${why}`);
    if (sender.role !== BusRole.Db) throw refuse('only Database Services ask for database users');
    const entry = await this.rpc.call<DataPlane.SessionEntry>(Rpc.Broker.SessionsGet, { sid: req.sid }).catch(() => undefined);
    if (!entry?.hosts.includes(sender.id)) throw refuse('it is not a live session of the Database Service that asks');
    if (entry.db_user !== req.user || !isDeepStrictEqual(entry.auto_user, req.auto_user))
      throw refuse('it was granted another user or roles');
  }
}

/** The provisioner's view of a request's session; the events it emits are collected for the reply. */
function collecting(req: { sid: string; user: string; database: string; auto_user: DataPlane.AutoUser }) {
  const events: ProvisioningRpc.ProvisioningEvent[] = [];
  const session: ProvisionedSession = {
    sid: req.sid,
    user: req.user,
    database: req.database,
    autoUser: req.auto_user,
    emit: (event, code, fields) => events.push({ event, code, fields }),
  };
  return { session, events };
}

function refusalOf(err: unknown): Infer<typeof ProvisioningRpc.RefusalSchema> {
  if (err instanceof ProvisioningError) return err.fields;
  return { code: '08006', message: `automatic user provisioning failed: ${(err as Error).message}` };
}
