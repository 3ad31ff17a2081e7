import { randomUUID } from 'node:crypto';
import { errors, headers, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
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

/** How a call goes. */
export interface CallOptions {
  /**
   * The request may be handled more than once: it is sent again each time the connection comes back
   * while no answer has come, and the first answer wins. NATS keeps nothing for a client that is
   * reconnecting: a request written as its server died, or while it was away, is lost, and without
   * this the caller waits out the whole timeout for an answer that cannot come.
   */
  idempotent?: boolean;
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
  ) {
    reconnectsOf(nc);
  }

  /** The same client, its requests spans of the trace in `ctx` (a session's setup, an API request). */
  in(ctx: Context): RpcClient {
    return isTraced(ctx) ? new RpcClient(this.nc, this.sender, ctx) : this;
  }

  /**
   * Within a trace (a session's, an API request's), the request is a client span whose context goes
   * to the answering service in the message's W3C trace headers.
   */
  async call<Result>(pattern: string, data: unknown, timeoutMs = DEFAULT_TIMEOUT_MS, opts: CallOptions = {}): Promise<Result> {
    const subject = requestSubject(pattern, this.sender);
    const started = performance.now();
    const parent = this.parent ?? context.active();
    const attributes: Record<string, string> = { [Attr.RpcSystem]: 'nats', [Attr.RpcMethod]: pattern };
    const span = isTraced(parent) ? tracer().startSpan(pattern, { kind: SpanKind.CLIENT, attributes }, parent) : undefined;
    try {
      const h = span && traceHeaders(trace.setSpan(parent, span));
      const result = await this.request<Result>(pattern, subject, data, timeoutMs, opts, h);
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
  private async request<Result>(
    pattern: string,
    subject: string,
    data: unknown,
    timeoutMs: number,
    opts: CallOptions,
    h?: MsgHdrs,
  ): Promise<Result> {
    const payload = JSON.stringify({ pattern, data, id: randomUUID() });
    const deadline = Date.now() + timeoutMs;
    // Only "no responders" is retried here: the request reached nobody. A timeout may have been handled.
    const send = () =>
      retryWhile(
        () => this.nc.request(subject, payload, { timeout: Math.max(deadline - Date.now(), 1), ...(h ? { headers: h } : {}) }),
        isNoResponders,
        Math.min(deadline - Date.now(), NO_RESPONDERS_GRACE_MS),
        NO_RESPONDERS_PAUSE_MS,
      );
    let packet: ReplyPacket<Result>;
    try {
      const reply = await (opts.idempotent ? firstAnswer(this.nc, send) : send());
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

/** Tells listeners each time a connection is back after it was lost. */
class Reconnects {
  private readonly listeners = new Set<() => void>();

  constructor(nc: NatsConnection) {
    void (async () => {
      for await (const status of nc.status()) if (status.type === 'reconnect') for (const listener of [...this.listeners]) listener();
    })();
  }

  on(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const reconnects = new WeakMap<NatsConnection, Reconnects>();

function reconnectsOf(nc: NatsConnection): Reconnects {
  let watcher = reconnects.get(nc);
  if (!watcher) reconnects.set(nc, (watcher = new Reconnects(nc)));
  return watcher;
}

/**
 * Sends, and sends again each time the connection is back while no answer has come: the first answer
 * wins; when every copy has failed, the last failure is the call's.
 */
function firstAnswer(nc: NatsConnection, send: () => Promise<Msg>): Promise<Msg> {
  return new Promise((resolve, reject) => {
    let unanswered = 0;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      off();
      return true;
    };
    const attempt = () => {
      unanswered++;
      send().then(
        (reply) => settle() && resolve(reply),
        (err: unknown) => --unanswered === 0 && settle() && reject(err),
      );
    };
    const off = reconnectsOf(nc).on(attempt);
    attempt();
  });
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
