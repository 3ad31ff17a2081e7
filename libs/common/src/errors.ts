// Typed errors shared by every library and service. Inside the system we throw these; only the
// edges convert them: the HTTP layer to a status, the NATS layer to a reply envelope, the CLI to a
// message and an exit code, the Postgres engine to an ErrorResponse.

export const ErrorCode = {
  BadParameter: 'bad_parameter',
  NotFound: 'not_found',
  AlreadyExists: 'already_exists',
  AccessDenied: 'access_denied',
  CompareFailed: 'compare_failed',
  LimitExceeded: 'limit_exceeded',
  ConnectionProblem: 'connection_problem',
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that can never succeed as given: fix the input. */
export class BadParameterError extends DomainError {
  readonly code = ErrorCode.BadParameter;
}
export class NotFoundError extends DomainError {
  readonly code = ErrorCode.NotFound;
}
export class AlreadyExistsError extends DomainError {
  readonly code = ErrorCode.AlreadyExists;
}
export class AccessDeniedError extends DomainError {
  readonly code = ErrorCode.AccessDenied;
}
/** An optimistic-concurrency check failed: someone else changed the same thing first. */
export class CompareFailedError extends DomainError {
  readonly code = ErrorCode.CompareFailed;
}
/** Too many attempts or too much of something; may succeed later. */
export class LimitExceededError extends DomainError {
  readonly code = ErrorCode.LimitExceeded;
}
export class ConnectionProblemError extends DomainError {
  readonly code = ErrorCode.ConnectionProblem;
}
export class InternalError extends DomainError {
  readonly code = ErrorCode.Internal;
}

const byCode: Record<ErrorCode, new (message: string) => DomainError> = {
  [ErrorCode.BadParameter]: BadParameterError,
  [ErrorCode.NotFound]: NotFoundError,
  [ErrorCode.AlreadyExists]: AlreadyExistsError,
  [ErrorCode.AccessDenied]: AccessDeniedError,
  [ErrorCode.CompareFailed]: CompareFailedError,
  [ErrorCode.LimitExceeded]: LimitExceededError,
  [ErrorCode.ConnectionProblem]: ConnectionProblemError,
  [ErrorCode.Internal]: InternalError,
};

/** The serializable form of an error, as it crosses NATS and HTTP. Never carries a stack. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof DomainError) return { code: err.code, message: err.message };
  return { code: ErrorCode.Internal, message: 'internal error; see the service logs' };
}

export function fromErrorBody(body: ErrorBody): DomainError {
  const Ctor = byCode[body.code] ?? InternalError;
  return new Ctor(body.message);
}

export function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values<string>(ErrorCode).includes((value as ErrorBody).code) &&
    typeof (value as ErrorBody).message === 'string'
  );
}
