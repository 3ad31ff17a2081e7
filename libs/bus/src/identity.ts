import { BadParameterError } from '#libs/common';

/**
 * The kinds of process on the bus. Each gets NATS credentials for its kind and its own id, and may
 * publish and subscribe only what its job needs (permissions.ts).
 */
export const BusRole = {
  Auth: 'auth',
  Inventory: 'inventory',
  Broker: 'broker',
  /** The audit service answering searches (it responds to requests). */
  Audit: 'audit',
  /**
   * The audit service reading the AUDIT stream into its index. Apart from Audit because NATS keeps a
   * record of every message delivered with a reply subject to a connection allowed to respond: at
   * every audit event that bookkeeping costs more than storing the event.
   */
  AuditIndex: 'audit-index',
  Proxy: 'proxy',
  Db: 'db',
  Provisioning: 'provisioning',
  /** The local administrator on the auth host (bootstrap tasks, operators' tools): everything. */
  Admin: 'admin',
} as const;
export type BusRole = (typeof BusRole)[keyof typeof BusRole];

const ROLES = new Set<string>(Object.values(BusRole));
/** A host id, as a single subject token: no dots, wildcards or white space. */
const ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Who a bus connection is: its role and its host id. */
export interface BusIdentity {
  role: BusRole;
  id: string;
}

export function busIdentity(role: BusRole, id: string): BusIdentity {
  if (!ID.test(id)) throw new BadParameterError(`"${id}" cannot name a process on the bus: use letters, digits, '-' and '_'`);
  return { role, id };
}

export function formatIdentity(identity: BusIdentity): string {
  return `${identity.role} ${identity.id}`;
}

/** Replies to this process's requests arrive under this prefix, which only it may subscribe to. */
export function inboxPrefix(identity: BusIdentity): string {
  return `_INBOX.${identity.role}.${identity.id}`;
}

/**
 * The subject a request is sent on: the service's subject, then the sender's role and id. The server
 * lets a process publish only with its own role and id, so the receiver reads the sender from here.
 */
export function requestSubject(pattern: string, sender: BusIdentity): string {
  return `${pattern}.${sender.role}.${sender.id}`;
}

/** What a handler subscribes to for `pattern`: requests from every sender. */
export function requestFilter(pattern: string): string {
  return `${pattern}.>`;
}

/** The sender of a request received on `subject`: its last two tokens, which the server checked. */
export function senderOf(subject: string): BusIdentity | undefined {
  const tokens = subject.split('.');
  const [role, id] = tokens.slice(-2);
  if (tokens.length < 3 || !role || !id || !ROLES.has(role) || !ID.test(id)) return undefined;
  return { role: role as BusRole, id };
}
