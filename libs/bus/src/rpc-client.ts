import { randomUUID } from 'node:crypto';
import { errors, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { context, trace, type Context } from '@opentelemetry/api';
import { AccessDeniedError, ConnectionProblemError, fromErrorBody, InternalError, isErrorBody } from '#libs/common';
import { Attr, endSpan, errorType, instruments, isTraced, secondsSince, SpanKind, traceCarrier, tracer } from '#libs/telemetry';
import { natsCause, retryWhile } from '#libs/eventstore';
import { requestSubject, type BusIdentity } from './identity.js';

const DEFAULT_TIMEOUT_MS = 15_000;
const NO_RESPONDERS_GRACE_MS = 5_000;
const NO_RESPONDERS_PAUSE_MS = 200;

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
    /** The trace its requests belong to (see `in`). */
    private readonly parent?: Context,
  ) {}

  /** The same client, its requests spans of the trace in `ctx` (a session's setup, an API request). */
  in(ctx: Context): RpcClient {
    return isTraced(ctx) ? new RpcClient(this.nc, this.sender, ctx) : this;
  }

  /**
   * Within a trace (a session's, an API request's), the request is a client span whose context goes
   * to the answering service in the message's W3C trace headers.
   */
  async call<Result>(pattern: string, data: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Result> {
    const subject = requestSubject(pattern, this.sender);
    const started = performance.now();
    const parent = this.parent ?? context.active();
    const attributes: Record<string, string> = { [Attr.RpcSystem]: 'nats', [Attr.RpcMethod]: pattern };
    const span = isTraced(parent) ? tracer().startSpan(pattern, { kind: SpanKind.CLIENT, attributes }, parent) : undefined;
    try {
      const result = await this.request<Result>(pattern, subject, data, timeoutMs, span && traceHeaders(trace.setSpan(parent, span)));
      if (span) endSpan(span);
      return result;
    } catch (err) {
      attributes[Attr.ErrorType] = errorType(err);
      if (span) endSpan(span, err);
      throw err;
    } finally {
      instruments().rpcClientDuration.record(secondsSince(started), attributes);
    }
  }

  /**
   * "No responders" is retried for a few seconds (within the timeout): a service whose NATS node just
   * went away has no subscription until it reconnects to another, which takes a moment.
   */
  private async request<Result>(pattern: string, subject: string, data: unknown, timeoutMs: number, h?: MsgHdrs): Promise<Result> {
    const payload = JSON.stringify({ pattern, data, id: randomUUID() });
    let packet: ReplyPacket<Result>;
    try {
      // Only "no responders" is retried: the request reached nobody. A timeout may have been handled.
      const reply = await retryWhile(
        () => this.nc.request(subject, payload, { timeout: timeoutMs, ...(h ? { headers: h } : {}) }),
        isNoResponders,
        Math.min(timeoutMs, NO_RESPONDERS_GRACE_MS),
        NO_RESPONDERS_PAUSE_MS,
      );
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

/** A context's W3C trace fields as NATS headers. */
function traceHeaders(ctx: Context): MsgHdrs | undefined {
  const fields = Object.entries(traceCarrier(ctx));
  if (!fields.length) return undefined;
  const h = headers();
  for (const [key, value] of fields) h.set(key, value);
  return h;
}

const isNoResponders = (err: unknown) => natsCause(err) instanceof errors.NoRespondersError;

function requestError(err: unknown, pattern: string, subject: string, timeoutMs: number): Error {
  const service = serviceOf(pattern);
  const cause = natsCause(err);
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
