import { Catch, Logger, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';
import { DomainError, toErrorBody, type ErrorBody } from '#libs/common';

/** Replies carry `{ code, message }`, never a stack; unexpected errors are logged here and replied as internal. */
@Catch()
export class DomainRpcExceptionFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('rpc');

  catch(exception: unknown): Observable<ErrorBody> {
    if (!(exception instanceof DomainError)) this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    return throwError(() => toErrorBody(exception));
  }
}
