import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { NatsContext } from '@nestjs/microservices';
import { context, trace, type Context } from '@opentelemetry/api';
import { Observable } from 'rxjs';
import { Attr, contextFromHeaders, endSpan, errorType, instruments, isTraced, secondsSince, SpanKind, tracer } from '#libs/telemetry';

/** The request's pattern: its subject without the sender's role and id. */
function patternOf(subject: string): string {
  return subject.split('.').slice(0, -2).join('.');
}

/**
 * Times the answer to one bus request (rpc.server.call.duration) and, when the request came with a
 * trace, runs it in a server span of that trace. `finish` is called once with the error, if any.
 */
export function serverCall(subject: string, h: MsgHdrs | undefined): { context: Context; finish(err?: unknown): void } {
  const method = patternOf(subject);
  const started = performance.now();
  const parent = contextFromHeaders((name) => h?.get(name) || undefined);
  const attributes: Record<string, string> = { [Attr.RpcSystem]: 'nats', [Attr.RpcMethod]: method };
  const span = isTraced(parent) ? tracer().startSpan(method, { kind: SpanKind.SERVER, attributes }, parent) : undefined;
  return {
    context: span ? trace.setSpan(parent, span) : parent,
    finish(err?: unknown) {
      if (err !== undefined) attributes[Attr.ErrorType] = errorType(err);
      instruments().rpcServerDuration.record(secondsSince(started), attributes);
      if (span) endSpan(span, err);
    },
  };
}

/** serverCall for the Nest services' @BusRequest handlers. */
export class RpcTelemetryInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const nats = ctx.switchToRpc().getContext<NatsContext>();
    return new Observable((subscriber) => {
      const call = serverCall(nats.getSubject(), nats.getHeaders() as MsgHdrs | undefined);
      const subscription = context.with(call.context, () =>
        next.handle().subscribe({
          next: (value) => subscriber.next(value),
          error: (err: unknown) => {
            call.finish(err);
            subscriber.error(err);
          },
          complete: () => {
            call.finish();
            subscriber.complete();
          },
        }),
      );
      return () => subscription.unsubscribe();
    });
  }
}
