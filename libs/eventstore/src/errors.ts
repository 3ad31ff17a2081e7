import { CompareFailedError } from '#libs/common';

/** The aggregate's subject moved past the version the command was decided on. */
export class ExpectedVersionConflictError extends CompareFailedError {
  constructor(
    readonly subject: string,
    readonly expectedVersion: number,
    options?: { cause?: unknown },
  ) {
    super(`${subject} changed concurrently (expected version ${expectedVersion}); try again`, options);
  }
}
