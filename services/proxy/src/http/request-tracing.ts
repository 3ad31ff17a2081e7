import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import { contextFromCarrier, endSpan, SpanKind, tracer } from '#libs/telemetry';

/**
 * One span per web API request, continuing the caller's W3C trace when it sent one. Named by the
 * route's template, never the path: paths carry tokens (`/web/invite/<token>`), as query strings may.
 * The handlers' bus requests are not its children: Nest resolves a handler's parameters across an
 * await, and the context does not cross awaits (telemetry.ts).
 */
export function traceRequests(req: IncomingMessage & { route?: { path?: string } }, res: ServerResponse, next: () => void): void {
  const parent = req.headers.traceparent
    ? contextFromCarrier({ traceparent: String(req.headers.traceparent), tracestate: String(req.headers.tracestate ?? '') })
    : context.active();
  const span = tracer().startSpan(
    req.method ?? 'HTTP',
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? '' } },
    parent,
  );
  if (!span.isRecording()) return next();
  res.once('close', () => {
    const route = req.route?.path;
    if (route) {
      span.updateName(`${req.method} ${route}`);
      span.setAttribute('http.route', route);
    }
    span.setAttribute('http.response.status_code', res.statusCode);
    endSpan(span, res.statusCode >= 500 ? new Error(`HTTP ${res.statusCode}`) : undefined);
  });
  next();
}
