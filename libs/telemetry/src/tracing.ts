import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

/** Every span of ours comes from this tracer: a no-op until telemetry starts with an exporter. */
export function tracer() {
  return trace.getTracer('dbaccess');
}

/** A context carrier that is a plain object: the session header's `trace` field, a test's probe. */
export type TraceCarrier = Record<string, string>;

/** The W3C trace context (traceparent, tracestate) of `ctx`, to send along; empty when nothing is traced. */
export function traceCarrier(ctx: Context = context.active()): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The context a peer sent in `carrier` (untrusted input: only the W3C fields are read, by the propagator). */
export function contextFromCarrier(carrier: unknown): Context {
  if (!carrier || typeof carrier !== 'object') return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * The trace that W3C headers (`get` reads one, from HTTP or NATS headers alike) continue; the active
 * context when they name none.
 */
export function contextFromHeaders(get: (name: string) => string | undefined): Context {
  const traceparent = get('traceparent');
  if (!traceparent) return context.active();
  const tracestate = get('tracestate');
  return contextFromCarrier({ traceparent, ...(tracestate ? { tracestate } : {}) });
}

/** Whether `ctx` holds a span a trace goes on from (a sampled or unsampled one alike; not the no-op's). */
export function isTraced(ctx: Context): boolean {
  const span = trace.getSpanContext(ctx);
  return span !== undefined && isSpanContextValid(span);
}

/** Ends `span`, marked as failed with the error's class and message (never its payload). */
export function endSpan(span: Span, err?: unknown): void {
  if (err !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    span.setAttribute('error.type', errorType(err));
  }
  span.end();
}

/** What kind of error it was, for `error.type`: a domain error's code, else its class. */
export function errorType(err: unknown): string {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code) return code;
    return (err as object).constructor?.name ?? 'Error';
  }
  return 'Error';
}

/**
 * Runs `fn` in a child span of `parent`, named `name`, ended when what `fn` returns settles; `fn` gets
 * the span's context to hand on. Traced only where `parent` is part of a trace: background work does
 * not start traces of its own.
 */
export async function inSpan<T>(
  name: string,
  parent: Context,
  fn: (ctx: Context) => Promise<T> | T,
  opts: { kind?: SpanKind; attributes?: Attributes } = {},
): Promise<T> {
  if (!isTraced(parent)) return fn(parent);
  const span = tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes ?? {} }, parent);
  try {
    const result = await fn(trace.setSpan(parent, span));
    endSpan(span);
    return result;
  } catch (err) {
    endSpan(span, err);
    throw err;
  }
}

export { SpanKind };
