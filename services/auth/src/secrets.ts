import { createHash, randomBytes } from 'node:crypto';

/** 32 hex characters, as Teleport's tokens. */
export function newToken(): string {
  return randomBytes(16).toString('hex');
}

/** Tokens are looked up by this hash; the stream never holds a token in clear. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
