import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Logger } from '@nestjs/common';
import type { z } from 'zod';
import { BadParameterError, DomainError, toErrorBody } from '#libs/common';
import { formatZodError } from '#libs/config';
import { context } from '@opentelemetry/api';
import { requestFilter, requestSubject, senderOf, type BusIdentity } from './identity.js';
import { serverCall } from './rpc-telemetry.js';

/**
 * Answers requests on `pattern`, in the same packet format as the Nest services (so RpcClient calls it
 * alike), without Nest: for subjects made at run time (one per database, one per replica). From every
 * sender, shared with the replicas in `queue`; or only from `from`. The payload is validated by
 * `schema`; errors reply as `{ code, message }`, never a stack.
 */
export function serveRequests<Schema extends z.ZodType, Reply>(
  nc: NatsConnection,
  pattern: string,
  schema: Schema,
  handle: (sender: BusIdentity, request: z.infer<Schema>) => Promise<Reply>,
  opts: { queue?: string; from?: BusIdentity } = {},
): Subscription {
  const logger = new Logger('bus');
  return nc.subscribe(opts.from ? requestSubject(pattern, opts.from) : requestFilter(pattern), {
    ...(opts.queue && !opts.from ? { queue: opts.queue } : {}),
    callback: (_err, msg) => {
      const respond = (packet: object) => msg.reply && msg.respond(JSON.stringify(packet));
      const answer = async () => {
        const sender = senderOf(msg.subject);
        if (!sender) throw new BadParameterError('the request does not name its sender');
        let data: unknown;
        try {
          data = (JSON.parse(msg.string()) as { data?: unknown }).data;
        } catch {
          throw new BadParameterError('the request is not JSON');
        }
        const parsed = schema.safeParse(data);
        if (!parsed.success) throw new BadParameterError(formatZodError(parsed.error));
        return handle(sender, parsed.data);
      };
      const call = serverCall(msg.subject, msg.headers);
      context
        .with(call.context, answer)
        .then((response) => {
          call.finish();
          respond({ response, isDisposed: true });
        })
        .catch((err: unknown) => {
          call.finish(err);
          if (!(err instanceof DomainError)) logger.error(`${pattern}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          respond({ err: toErrorBody(err), isDisposed: true });
        });
    },
  });
}
