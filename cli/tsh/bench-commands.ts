import type { Command } from 'commander';
import { parseLoadPlan } from './bench-run.js';
import { benchPostgres } from './bench-postgres.js';
import { dbContext } from './db-context.js';
import type { DbRouteFlags } from './db-login.js';
import type { TshGlobals } from './identity.js';

// One request waits at most this long, as long as Teleport's histogram reaches (60000 ms).
const REQUEST_TIMEOUT_MS = 60_000;

export function registerBenchCommands(program: Command, globals: () => TshGlobals): void {
  const bench = program
    .command('bench')
    .description('Run benchmark tests against the cluster')
    .option('--duration <duration>', 'test duration', '1s')
    .option('--rate <n>', 'requests per second rate', '10');

  bench
    .command('postgres')
    .description('Run PostgreSQL database benchmark tests: new sessions through the proxy at --rate, each running SELECT 1')
    .argument('<db>', 'the database, as tsh db ls names it')
    .option('--db-user <user>', 'the database user to connect as (default: the only one your roles allow)')
    .option('--db-name <name>', 'the database name where the benchmark queries run (default: the only one your roles allow)')
    .action(async (name: string, opts: DbRouteFlags) => {
      const plan = parseLoadPlan(bench.opts<{ duration: string; rate: string }>(), REQUEST_TIMEOUT_MS);
      const g = globals();
      await benchPostgres(await dbContext(g), name, opts, plan, Boolean(g.insecure));
    });
}
