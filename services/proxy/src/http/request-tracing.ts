import type { IncomingMessage, ServerResponse } from 'node:http';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import type { RpcClient } from '#libs/bus';
import { InternalError } from '#libs/common';
import { contextFromHeaders, endSpan, SpanKind, tracer } from '#libs/telemetry';

const RPC = Symbol('rpc');
type TracedRequest = IncomingMessage & { route?: { path?: string }; [RPC]?: RpcClient };

/**
 * One span per web API request, continuing the caller's W3C trace when it sent one. Named by the
 * route's template, never the path: paths carry tokens (`/web/invite/<token>`), as query strings may.
 * The request's bus requests are its children: guards and handlers take the request's own client
 * (`requestRpc`, `@Bus()`), since the context does not cross the awaits between here and them (telemetry.ts).
 */
export function traceRequests(rpc: RpcClient) {
  return (req: TracedRequest, res: ServerResponse, next: () => void): void => {
    const parent = contextFromHeaders((name) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : undefined;
    });
    const span = tracer().startSpan(
      req.method ?? 'HTTP',
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? '' } },
      parent,
    );
    req[RPC] = rpc.in(trace.setSpan(parent, span));
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
  };
}

/** The bus client of the request: its requests are spans of the request's trace. */
export function requestRpc(req: IncomingMessage): RpcClient {
  const rpc = (req as TracedRequest)[RPC];
  if (!rpc) throw new InternalError('the request did not pass through traceRequests');
  return rpc;
}

/** A handler's parameter: the bus client of the request being handled (requestRpc). */
export const Bus = createParamDecorator((_data: unknown, ctx: ExecutionContext): RpcClient => requestRpc(ctx.switchToHttp().getRequest()));
