import { PgError } from './simple-query.js';

const ATTEMPTS = 6;
const BASE_DELAY_MS = 20;

/**
 * Errors another transaction causes and a retry cures: serialization failures, deadlocks, a unique
 * violation or duplicate object from a concurrent CREATE ROLE, "tuple concurrently updated" from
 * concurrent GRANT/ALTER ROLE on the shared catalogs.
 */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof PgError)) return false;
  return ['40001', '40P01', '23505'].includes(err.code) || /tuple concurrently (updated|deleted)/.test(err.message);
}

/** Runs `fn` until it succeeds or fails with an error that is not transient; backs off with jitter. */
export async function withRetries<T>(fn: () => Promise<T>, attempts = ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isTransient(err)) throw err;
      await new Promise((r) => setTimeout(r, BASE_DELAY_MS * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}
