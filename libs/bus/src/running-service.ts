import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport } from '@nestjs/microservices';
import { DomainRpcExceptionFilter } from './rpc-exception.filter.js';

export interface RunningService {
  readonly name: string;
  close(): Promise<void>;
}

/** Serves a module's @MessagePattern handlers over NATS in a queue group, so replicas share the requests. */
export async function listenRpc(module: unknown, servers: string[], queue: string): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice(module as never, {
    transport: Transport.NATS,
    options: { servers, queue, name: queue, maxReconnectAttempts: -1 },
  });
  app.useGlobalFilters(new DomainRpcExceptionFilter());
  await app.listen();
  return app;
}
