import { ClientNats } from '@nestjs/microservices';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import { ConnectionProblemError, fromErrorBody, InternalError, isErrorBody } from '#libs/common';

const DEFAULT_TIMEOUT_MS = 15_000;

/** The service a request subject belongs to, for messages: `auth.users.get` -> auth, `auditlog.sessions.list` -> audit. */
function serviceOf(pattern: string): string {
  const prefix = pattern.split('.')[0]!;
  return prefix === 'auditlog' ? 'audit' : prefix;
}

/** Request/reply to another service over NATS (Nest's packet format); replies with an error body become typed errors. */
export class RpcClient {
  private readonly client: ClientNats;

  constructor(servers: string[], name: string) {
    this.client = new ClientNats({ servers, name, maxReconnectAttempts: -1 });
  }

  async call<Result>(pattern: string, data: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Result> {
    try {
      return await firstValueFrom(this.client.send<Result>(pattern, data).pipe(timeout(timeoutMs)));
    } catch (err) {
      if (isErrorBody(err)) throw fromErrorBody(err);
      if (err instanceof TimeoutError) {
        throw new ConnectionProblemError(`no answer from ${serviceOf(pattern)} service within ${timeoutMs / 1000}s; is it running?`);
      }
      if (err instanceof Error && /no responders/i.test(err.message)) {
        throw new ConnectionProblemError(`the ${serviceOf(pattern)} service is not running (no responders on ${pattern})`);
      }
      throw new InternalError(`${pattern} failed: ${err instanceof Error ? err.message : JSON.stringify(err)}`, { cause: err });
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
