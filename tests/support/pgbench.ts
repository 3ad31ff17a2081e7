import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pgBinDir, type PostgresCluster } from '#libs/testing';
import { readAudit, waitForSpoolDrained } from './audit-log.js';
import type { TestCluster } from './cluster.js';
import { loginUser, startClusterPostgres, startDbService, tempDir, type DbServiceProcess } from './data-plane.js';

const PGBENCH = join(pgBinDir(), 'pgbench');

/** postgresql.conf lines: every statement PostgreSQL receives is logged, after its database user. */
export const LOG_STATEMENTS = "log_statement = 'all'\nlog_line_prefix = '<%u> '";

export interface PgbenchRun {
  child: ChildProcess;
  /** Its exit code and everything it printed. */
  done: Promise<{ code: number; output: string }>;
}

/** No PG* variable of this machine reaches libpq: the service file says everything. */
function libpqEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG'))), LC_ALL: 'C', ...env };
}

function run(args: string[], env: NodeJS.ProcessEnv): PgbenchRun {
  const child = spawn(PGBENCH, args, { env: libpqEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<{ code: number; output: string }>((resolve) =>
    child.once('close', (code) => resolve({ code: code ?? -1, output })),
  );
  return { child, done };
}

/**
 * pgbench through our proxy with what `tsh db login` saved: `service=<section>` of `serviceFile`, HOME
 * without client certificates of its own.
 */
export function pgbenchThroughProxy(args: string[], via: PgbenchVia): PgbenchRun {
  return run([...args, `service=${via.section}`], { PGSERVICEFILE: via.serviceFile, HOME: via.home });
}

/** Where pgbench finds the session `tsh db login` saved: the service file, its section, a HOME without certificates. */
export interface PgbenchVia {
  serviceFile: string;
  home: string;
  section: string;
}

/**
 * The setup of the audit tests that count statements: a PostgreSQL of the cluster that logs every
 * statement (LOG_STATEMENTS) with pgbench's tables at scale 1, a Database Service serving it as
 * `example`, and `dbUser` (allowed to read them) logged in to it with `tsh db login`.
 */
export async function pgbenchCluster(
  cluster: TestCluster,
  dbUser: string,
  /** More flags of `teleport db start`. */
  serviceOpts: { args?: string[] } = {},
): Promise<{ postgres: PostgresCluster; service: DbServiceProcess & { dataDir: string }; via: PgbenchVia }> {
  const postgres = await startClusterPostgres(cluster, { extraConf: LOG_STATEMENTS });
  await pgbenchInit(postgres, 1);
  await postgres.psql(`CREATE USER ${dbUser};\nGRANT SELECT ON ALL TABLES IN SCHEMA public TO ${dbUser};\n`);
  const service = await startDbService(cluster, { name: 'example', uri: `localhost:${postgres.port}` }, serviceOpts);
  await loginUser(cluster, dbUser, ['--roles=access', `--db-users=${dbUser}`, '--db-names=*']);
  const home = tempDir(cluster, 'home-');
  const via = { serviceFile: join(home, 'pg_service.conf'), home, section: `${cluster.clusterName}-example` };
  const login = await cluster.tsh(['db', 'login', `--db-user=${dbUser}`, '--db-name=postgres', 'example'], {
    env: { PGSERVICEFILE: via.serviceFile, HOME: home },
  });
  if (login.code !== 0) throw new Error(login.stderr);
  return { postgres, service, via };
}

/** `pgbench -i` as the superuser over the unix socket. */
export async function pgbenchInit(pg: PostgresCluster, scale: number): Promise<void> {
  const { code, output } = await run(
    ['-i', '-q', '-s', String(scale), '-h', pg.socketDir, '-p', String(pg.port), '-U', 'postgres', 'postgres'],
    {},
  ).done;
  if (code !== 0) throw new Error(`pgbench -i failed:\n${output}`);
}

/** Every statement PostgreSQL received from `dbUser`, in order, from its log (LOG_STATEMENTS). */
export function loggedStatements(pg: PostgresCluster, dbUser: string): string[] {
  const prefix = `<${dbUser}> LOG:  statement: `;
  return readFileSync(join(dirname(pg.dataDir), 'postgres.log'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length));
}

/** Statements of `expected` that `actual` lacks, and those it has beyond them, each as often as it is over. */
export function compareStatements(expected: string[], actual: string[]): { missing: string[]; extra: string[] } {
  const counts = new Map<string, number>();
  for (const s of expected) counts.set(s, (counts.get(s) ?? 0) + 1);
  const extra: string[] = [];
  for (const s of actual) {
    const n = counts.get(s) ?? 0;
    if (n > 0) counts.set(s, n - 1);
    else extra.push(s);
  }
  const missing = [...counts].flatMap(([s, n]) => Array<string>(n).fill(s));
  return { missing, extra };
}

/**
 * Once every session of `dbUser` has ended (its db.session.end is spooled when the client goes) and the
 * Database Service's spool (in `dataDir`) is drained: the statements PostgreSQL logged from `dbUser`,
 * those its db.session.query events in the AUDIT stream lack or have beyond them, and how many stored
 * events repeat another's uid.
 */
export async function auditAgainstLog(
  cluster: TestCluster,
  postgres: PostgresCluster,
  dataDir: string,
  dbUser: string,
): Promise<{ logged: string[]; audited: number; missing: string[]; extra: string[]; repeated: number }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await waitForSpoolDrained(dataDir);
    const messages = await readAudit(cluster);
    const mine = messages.filter((m) => m.event.db_user === dbUser);
    const count = (type: string) => mine.filter((m) => m.event.event === type).length;
    if (count('db.session.end') === count('db.session.start')) {
      const logged = loggedStatements(postgres, dbUser);
      const audited = mine.filter((m) => m.event.event === 'db.session.query').map((m) => m.event.db_query as string);
      return {
        logged,
        audited: audited.length,
        ...compareStatements(logged, audited),
        repeated: messages.length - new Set(messages.map((m) => m.event.uid)).size,
      };
    }
    if (Date.now() > deadline) throw new Error(`${count('db.session.start')} sessions started, ${count('db.session.end')} ended`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
