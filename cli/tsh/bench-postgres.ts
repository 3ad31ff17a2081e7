import { ConnectionProblemError } from '#libs/common';
import { dbLogins } from '#libs/client';
import { benchReport, type BenchResult } from './bench-report.js';
import { runLoad, type LoadPlan } from './bench-run.js';
import { dbConnection } from './db-connection.js';
import type { DbContext } from './db-context.js';
import { dbLogin, loginServes, type DbRouteFlags } from './db-login.js';
import { pingPostgres } from './pg-ping.js';

/**
 * `tsh bench postgres DB`: sessions through the proxy at a steady rate, each a new connection with the
 * user's database certificate (logging in to DB first unless the stored login serves, as `tsh db
 * connect` does) running `SELECT 1`; prints Teleport's histogram of response durations. Ctrl-C ends
 * the schedule early and still prints what was measured. Fails when no request succeeded.
 */
export async function benchPostgres(ctx: DbContext, db: string, flags: DbRouteFlags, plan: LoadPlan, insecure: boolean): Promise<void> {
  const stored = dbLogins(ctx.profile).find((l) => l.name === db);
  const login = stored && loginServes(ctx, stored, flags) ? stored : await dbLogin(ctx, db, flags);
  const conn = dbConnection(ctx.profile, login);
  const { identity } = ctx.active.profile;
  const target = {
    host: conn.host,
    port: conn.port,
    ca: identity.cas.host ?? [],
    cert: login.certPem,
    key: identity.privateKeyPem,
    verify: !insecure,
    ...(conn.user !== undefined ? { user: conn.user } : {}),
    ...(conn.database !== undefined ? { database: conn.database } : {}),
  };
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  process.once('SIGINT', onInterrupt);
  let result: BenchResult;
  try {
    result = await runLoad(plan, (signal) => pingPostgres(target, signal), stop.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
  process.stdout.write(benchReport(result));
  if (result.requestsOriginated > 0 && result.requestsFailed === result.requestsOriginated) {
    throw new ConnectionProblemError(`every request failed: ${result.lastError}`);
  }
}
