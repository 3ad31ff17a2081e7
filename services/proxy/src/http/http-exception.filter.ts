import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError, ErrorCode, toErrorBody } from '#libs/common';

const STATUS: Record<ErrorCode, number> = {
  [ErrorCode.BadParameter]: 400,
  [ErrorCode.AccessDenied]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.AlreadyExists]: 409,
  [ErrorCode.CompareFailed]: 412,
  [ErrorCode.LimitExceeded]: 429,
  [ErrorCode.ConnectionProblem]: 503,
  [ErrorCode.Internal]: 500,
};

/** Errors leave the proxy as `{ "error": { "code", "message" } }` with a matching status; nothing else of them. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('proxy');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = status === 404 ? ErrorCode.NotFound : status < 500 ? ErrorCode.BadParameter : ErrorCode.Internal;
      res.status(status).json({ error: { code, message: exception.message } });
      return;
    }
    if (!(exception instanceof DomainError)) this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    const body = toErrorBody(exception);
    res.status(STATUS[body.code]).json({ error: body });
  }
}
