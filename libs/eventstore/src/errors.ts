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

/** A stream message that is not a commit (a JSON array of event envelopes): readers skip it. */
export class MalformedCommitError extends Error {
  constructor(
    readonly subject: string,
    readonly seq: number,
    reason: string,
  ) {
    super(`message ${seq} on ${subject}: not a commit (${reason})`);
    this.name = 'MalformedCommitError';
  }
}
