import { randomUUID } from 'node:crypto';
import { errors, type NatsConnection } from '@nats-io/transport-node';
import { AccessDeniedError, ConnectionProblemError, fromErrorBody, InternalError, isErrorBody } from '#libs/common';
import { requestSubject, type BusIdentity } from './identity.js';

const DEFAULT_TIMEOUT_MS = 15_000;

/** The service a request subject belongs to, for messages: `auth.users.get` -> auth, `auditlog.sessions.list` -> audit. */
function serviceOf(pattern: string): string {
  const prefix = pattern.split('.')[0]!;
  return prefix === 'auditlog' ? 'audit' : prefix;
}

/** Nest's reply packet: the handler's result, or its error body. */
interface ReplyPacket<Result> {
  response?: Result;
  err?: unknown;
}

/**
 * Request/reply to another service over the process's one NATS connection, in Nest's packet format.
 * Each request carries the sender's role and id in its subject; replies with an error body become
 * typed errors.
 */
export class RpcClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly sender: BusIdentity,
  ) {}

  async call<Result>(pattern: string, data: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Result> {
    const subject = requestSubject(pattern, this.sender);
    let packet: ReplyPacket<Result>;
    try {
      const reply = await this.nc.request(subject, JSON.stringify({ pattern, data, id: randomUUID() }), { timeout: timeoutMs });
      packet = reply.json<ReplyPacket<Result>>();
    } catch (err) {
      throw requestError(err, pattern, subject, timeoutMs);
    }
    if (packet.err !== undefined && packet.err !== null) {
      throw isErrorBody(packet.err) ? fromErrorBody(packet.err) : new InternalError(`${pattern} failed: ${JSON.stringify(packet.err)}`);
    }
    return packet.response as Result;
  }
}

function requestError(err: unknown, pattern: string, subject: string, timeoutMs: number): Error {
  const service = serviceOf(pattern);
  const cause = err instanceof errors.RequestError && err.cause ? err.cause : err;
  if (cause instanceof errors.NoRespondersError) {
    return new ConnectionProblemError(`the ${service} service is not running (no responders on ${pattern})`, { cause: err });
  }
  if (cause instanceof errors.TimeoutError) {
    return new ConnectionProblemError(`no answer from ${service} service within ${timeoutMs / 1000}s; is it running?`, { cause: err });
  }
  if (cause instanceof errors.PermissionViolationError) {
    return new AccessDeniedError(`the bus does not let this process send ${subject}`, { cause: err });
  }
  if (cause instanceof errors.ClosedConnectionError) {
    return new ConnectionProblemError(`the connection to NATS is closed (${pattern})`, { cause: err });
  }
  return new InternalError(`${pattern} failed: ${(err as Error).message ?? String(err)}`, { cause: err });
}
