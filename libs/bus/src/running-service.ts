import { createParamDecorator, type ExecutionContext, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, NatsContext, ServerNats } from '@nestjs/microservices';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { AccessDeniedError } from '#libs/common';
import { requestFilter, senderOf, type BusIdentity } from './identity.js';
import { DomainRpcExceptionFilter } from './rpc-exception.filter.js';
import { RpcTelemetryInterceptor } from './rpc-telemetry.js';

export interface RunningService {
  readonly name: string;
  close(): Promise<void>;
}

/** Handles the requests on `pattern` from every sender (each sends on `<pattern>.<role>.<id>`). */
export const BusRequest = (pattern: string) => MessagePattern(requestFilter(pattern));

/** The sender of the request being handled, as the bus authenticated it: never a payload field. */
export const Sender = createParamDecorator((_data: unknown, ctx: ExecutionContext): BusIdentity => {
  const sender = senderOf(ctx.switchToRpc().getContext<NatsContext>().getSubject());
  if (!sender) throw new AccessDeniedError('the request does not name its sender');
  return sender;
});

/** Nest's NATS server on the service's own connection, which it neither opens nor closes. */
class SharedConnectionServer extends ServerNats {
  constructor(
    private readonly nc: NatsConnection,
    queue: string,
  ) {
    super({ queue });
  }

  override async createNatsClient(): Promise<never> {
    return this.nc as never;
  }

  /** Stops serving: the connection stays open for the rest of the service. */
  override async close(): Promise<void> {
    const { subscriptions } = this as unknown as { subscriptions: Subscription[] };
    for (const sub of subscriptions.splice(0)) sub.unsubscribe();
  }
}

/** Serves a module's @BusRequest handlers on `nc` in a queue group, so replicas share the requests. */
export async function listenRpc(module: unknown, nc: NatsConnection, queue: string): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice(module as never, { strategy: new SharedConnectionServer(nc, queue) });
  app.useGlobalFilters(new DomainRpcExceptionFilter());
  app.useGlobalInterceptors(new RpcTelemetryInterceptor());
  await app.listen();
  return app;
}
