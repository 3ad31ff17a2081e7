/**
 * What keeps this process from serving, as /readyz reports it. Each part of the process that can fall
 * behind or lose what it depends on (a projection of a stream, the peers it calls) adds a check; a check
 * answers one line per problem, none when it is fine, and must answer within CHECK_MS.
 */
export type ReadinessCheck = () => Promise<string[]>;

/** How long one check may take: /readyz answers within the diagnostic listener's 2 s. */
export const CHECK_MS = 1_000;

const checks = new Set<ReadinessCheck>();
let inFlight: Promise<string[]> | undefined;

/** Adds a check until the returned function removes it. */
export function addReadinessCheck(check: ReadinessCheck): () => void {
  checks.add(check);
  return () => void checks.delete(check);
}

/**
 * Every check's problems, each line once (services in one process share peers). Probes that come while
 * one runs share its answer: a flood of probes costs the peers one ping each.
 */
export function readinessProblems(): Promise<string[]> {
  inFlight ??= Promise.all([...checks].map((check) => withinMs(check(), CHECK_MS + 200, 'a readiness check did not answer in time'))).then(
    (lines) => [...new Set(lines.flat())],
    (err: Error) => [err.message],
  );
  const answer = inFlight;
  void answer.finally(() => {
    if (inFlight === answer) inFlight = undefined;
  });
  return answer;
}

/** `promise`'s value, or `[late]` once `ms` have passed; a check that fails reports why. */
export async function withinMs(promise: Promise<string[]>, ms: number, late: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.catch((err: Error) => [err.message]),
      new Promise<string[]>((resolve) => (timer = setTimeout(() => resolve([late]), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
