import { randomUUID } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { AccessDeniedError, NotFoundError } from '#libs/common';
import { Aggregate, AuditCode, AuditEvent, auditSubject, clusterSubject, NO_SESSION, type LockAuditEvent } from '#libs/events';
import { PUBLISH_RETRIES, type EventStore, type Projection } from '#libs/eventstore';
import { lockInForce, lockInForceMessage, parseLock, type Lock } from '#libs/rbac';
import type { AuthView } from '../auth.view.js';
import type { CertAuthorities } from '../cas/cert-authorities.js';
import { lockDecider } from './lock.decider.js';

/** Locks (`tctl lock`, `kind: lock`): stored as events, audited as `lock.created` / `lock.deleted`, checked before certificates are issued. */
export class LocksService {
  constructor(
    private readonly store: EventStore,
    private readonly js: JetStreamClient,
    private readonly view: AuthView,
    private readonly projection: Projection,
    private readonly cas: CertAuthorities,
  ) {}

  /** `created_by` and `created_at` come from the caller and the clock, never from the resource sent. */
  async upsert(actor: string, input: unknown, mustNotExist: boolean): Promise<{ lock: Lock; created: boolean }> {
    const parsed = parseLock(withName(input));
    const lock: Lock = { ...parsed, spec: { ...parsed.spec, created_at: new Date().toISOString(), created_by: actor } };
    const { previous } = await this.store.handle(clusterSubject(Aggregate.Lock, lock.metadata.name), lockDecider, {
      type: 'upsert',
      lock,
      mustNotExist,
    });
    await this.audit(AuditEvent.LockCreate, actor, lock);
    return { lock, created: !previous.lock };
  }

  /** Every lock, expired ones included (as `tctl get locks` shows them in Teleport), by name. */
  async list(): Promise<Lock[]> {
    await this.projection.sync();
    return [...this.view.locks.values()]
      .flatMap((s) => (s.lock ? [s.lock] : []))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  async get(name: string): Promise<Lock> {
    await this.projection.sync();
    const lock = this.view.locks.get(name)?.lock;
    if (!lock) throw new NotFoundError(`lock "${name}" not found; 'tctl get locks' lists them`);
    return lock;
  }

  async delete(actor: string, name: string): Promise<void> {
    const { previous } = await this.store.handle(clusterSubject(Aggregate.Lock, name), lockDecider, { type: 'delete', name });
    await this.audit(AuditEvent.LockDelete, actor, previous.lock!);
  }

  /** Teleport rejects a certificate request while a lock on the user or one of the roles is in force. */
  async refuseLocked(user: string, roles: string[]): Promise<void> {
    await this.projection.sync();
    const lock = lockInForce(this.locks(), { user, roles }, new Date());
    if (lock) throw new AccessDeniedError(lockInForceMessage(lock));
  }

  private *locks(): Iterable<Lock> {
    for (const state of this.view.locks.values()) if (state.lock) yield state.lock;
  }

  private async audit(event: typeof AuditEvent.LockCreate | typeof AuditEvent.LockDelete, user: string, lock: Lock): Promise<void> {
    const target = lock.spec.target;
    const body: LockAuditEvent = {
      ei: 0,
      event,
      uid: randomUUID(),
      code: AuditCode[event],
      time: new Date().toISOString(),
      cluster_name: this.cas.clusterName(),
      user,
      name: lock.metadata.name,
      ...(event === AuditEvent.LockCreate
        ? { ...(lock.spec.expires ? { expires: lock.spec.expires } : {}), updated_by: user, target }
        : {}),
      lock: { target },
    };
    await this.js.publish(auditSubject(NO_SESSION, event), JSON.stringify(body), { msgID: body.uid, retries: PUBLISH_RETRIES });
  }
}

/** `tctl lock` sends no name: a new lock is named by a UUID, as Teleport names it. */
function withName(input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  const resource = input as { metadata?: unknown };
  const metadata = resource.metadata ?? {};
  if (typeof metadata !== 'object' || metadata === null || 'name' in metadata) return input;
  return { ...resource, metadata: { ...metadata, name: randomUUID() } };
}
