import type { RpcClient } from '#libs/bus';
import { provisioningSubject, ProvisioningRpc, ProvisioningVerb } from '#libs/events';
import { ProvisioningError } from './errors.js';
import type { Activated, ProvisionedSession, UserConnection } from './provisioner.js';

/**
 * A session's side of provisioning, over the bus: the provisioning service (in this process or another)
 * activates the user and holds its lock while the session connects as it, then deactivates it when the
 * session ends. Its audit events come back with each answer and are emitted in the session's order.
 */
export class RemoteProvisioner {
  constructor(
    private readonly rpc: RpcClient,
    /** The database (its name as configured), which names the provisioning subjects. */
    private readonly service: string,
  ) {}

  async activate<T extends UserConnection>(session: ProvisionedSession, connect: () => Promise<T>): Promise<Activated<T>> {
    const request = { sid: session.sid, user: session.user, database: session.database, auto_user: session.autoUser };
    const reply = await this.rpc.call<ProvisioningRpc.ActivateReply>(provisioningSubject(this.service, ProvisioningVerb.Activate), request);
    emitAll(session, reply.events);
    if (!reply.ok) throw new ProvisioningError(reply.refusal);
    const release = provisioningSubject(this.service, reply.release);
    let upstream: T;
    try {
      upstream = await connect();
    } catch (err) {
      await this.rpc.call(release, { lease: reply.lease, failed: true }).catch(() => undefined);
      throw err;
    }
    await this.rpc.call(release, { lease: reply.lease, process_id: upstream.processId });
    return {
      upstream,
      teardown: async () => {
        const done = await this.rpc.call<ProvisioningRpc.EventsReply>(provisioningSubject(this.service, ProvisioningVerb.Deactivate), {
          ...request,
          process_id: upstream.processId,
        });
        emitAll(session, done.events);
      },
    };
  }
}

function emitAll(session: ProvisionedSession, events: ProvisioningRpc.ProvisioningEvent[]): void {
  for (const e of events) session.emit(e.event, e.code, e.fields);
}
