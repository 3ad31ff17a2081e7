import { BadParameterError, LimitExceededError } from '#libs/common';

/** A frame's length prefix announces more payload than the connection accepts; close the connection. */
export class FrameTooLargeError extends LimitExceededError {
  constructor(
    readonly length: number,
    readonly maxLength: number,
  ) {
    super(`message of ${length} bytes exceeds the limit of ${maxLength} bytes`);
  }
}

/** Bytes that no conforming peer sends: a bad length, an unknown code or type, a malformed payload. */
export class ProtocolViolationError extends BadParameterError {}
