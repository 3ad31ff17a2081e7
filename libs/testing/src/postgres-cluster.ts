import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PsqlError, ServerStartError } from './errors.js';
import { findExecutable, isExecutable } from './executables.js';
import { removeDirSync, trackCleanup, untrackCleanup } from './exit-cleanup.js';
import { freePort } from './free-port.js';
import { asPostgresUser, chownToPostgres, pgBinDir, pgEnv } from './postgres-bin.js';
import { harnessConf, PG_HBA } from './postgres-conf.js';
import { runCommand } from './run-command.js';
import { ServerProcess } from './server-process.js';
import { awaitStart } from './startup.js';

const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 30_000;
const PORT_ATTEMPTS = 5;
const PORT_TAKEN = /Address already in use/;
// postmaster.pid, one value a line: 1 pid, 4 port, 7 SysV shared memory key and id,
// 8 status ("ready" once it accepts connections)
const PID_LINE = 0;
const PORT_LINE = 3;
const SHMEM_LINE = 6;
const STATUS_LINE = 7;

/** Paths to server.crt / server.key / server.cas as `tctl auth sign --format=db` writes them. */
export interface PostgresTls {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface PostgresCluster {
  host: '127.0.0.1';
  port: number;
  socketDir: string;
  dataDir: string;
  /** run SQL as the superuser `postgres` over the unix socket (trust), returns stdout; throws with psql's stderr on failure */
  psql(sql: string, opts?: { database?: string }): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A fresh PostgreSQL cluster on a free port of 127.0.0.1, configured as the Teleport guide says:
 * ssl = on with the given files, and pg_hba.conf requiring a client certificate on every TCP
 * connection. psql() runs unaligned and tuples-only: `select 1` returns "1\n".
 */
export async function startPostgres(opts: { tls: PostgresTls; extraConf?: string }): Promise<PostgresCluster> {
  const bin = pgBinDir();
  const baseDir = await mkdtemp(join(tmpdir(), 'dbaccess-pg-'));
  const dataDir = join(baseDir, 'data');
  const cleanup = (): void => removeLeftovers(baseDir, dataDir);
  trackCleanup(cleanup);
  try {
    chownToPostgres(baseDir);
    const socketDir = join(baseDir, 'sock');
    await mkdir(socketDir, { mode: 0o700 });
    chownToPostgres(socketDir);
    await initdb(bin, baseDir, dataDir);
    const tls = await installTls(opts.tls, dataDir);
    const confFile = join(dataDir, 'postgresql.conf');
    const initdbConf = await readFile(confFile, 'utf8');
    await writeFile(join(dataDir, 'pg_hba.conf'), PG_HBA);
    const cluster = new LocalPostgresCluster(bin, baseDir, dataDir, socketDir, cleanup);
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      await writeFile(confFile, `${initdbConf}\n${harnessConf({ port, socketDir, ...tls, extraConf: opts.extraConf })}`);
      if (await cluster.launch(port)) return cluster;
      if (attempt === PORT_ATTEMPTS) {
        throw new ServerStartError(`postgres found its port taken ${PORT_ATTEMPTS} times in a row`);
      }
    }
  } catch (err) {
    cleanup();
    untrackCleanup(cleanup);
    throw err;
  }
}

/**
 * Removes the cluster's dirs once its processes are gone. A postmaster.pid still there means the
 * postmaster was killed before it could remove its SysV shared memory segment: remove that too.
 */
function removeLeftovers(baseDir: string, dataDir: string): void {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const shmId = lines[SHMEM_LINE]?.trim().split(/\s+/)[1];
    if (shmId !== undefined && /^\d+$/.test(shmId)) execFileSync('ipcrm', ['-m', shmId], { stdio: 'ignore' });
  } catch {
    // no postmaster.pid (a clean shutdown removes it), or the segment is already gone
  }
  removeDirSync(baseDir);
}

async function initdb(bin: string, cwd: string, dataDir: string): Promise<void> {
  const [command, args] = asPostgresUser(join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '--locale=C',
    '-E',
    'UTF8',
  ]);
  const result = await runCommand(command, args, { cwd, env: pgEnv() });
  if (result.code !== 0) {
    throw new ServerStartError(`initdb exited with ${result.code}:\n${result.stdout}${result.stderr}`.trimEnd());
  }
}

/** Copies the TLS files into the data dir, owned by postgres: it refuses a key others can read. */
async function installTls(tls: PostgresTls, dataDir: string): Promise<PostgresTls> {
  const installed = {
    certFile: join(dataDir, 'server.crt'),
    keyFile: join(dataDir, 'server.key'),
    caFile: join(dataDir, 'server.cas'),
  };
  for (const [from, to, mode] of [
    [tls.certFile, installed.certFile, 0o644],
    [tls.keyFile, installed.keyFile, 0o600],
    [tls.caFile, installed.caFile, 0o644],
  ] as const) {
    await copyFile(from, to);
    chownToPostgres(to);
    await chmod(to, mode);
  }
  return installed;
}

class LocalPostgresCluster implements PostgresCluster {
  readonly host = '127.0.0.1' as const;
  port = 0;
  private proc: ServerProcess | undefined;
  private postmasterPid: number | undefined;
  private stopped = false;

  constructor(
    private readonly bin: string,
    private readonly baseDir: string,
    readonly dataDir: string,
    readonly socketDir: string,
    private readonly cleanup: () => void,
  ) {}

  /** Starts postgres on `port` (already in postgresql.conf); false if another process had bound it. */
  async launch(port: number): Promise<boolean> {
    this.port = port;
    const [command, args] = asPostgresUser(join(this.bin, 'postgres'), ['-D', this.dataDir]);
    const proc = new ServerProcess(command, args, {
      cwd: this.baseDir,
      logFile: join(this.baseDir, 'postgres.log'),
      env: pgEnv(),
    });
    this.proc = proc;
    const outcome = await awaitStart(proc, {
      name: `postgres on 127.0.0.1:${port}`,
      timeoutMs: START_TIMEOUT_MS,
      portTaken: PORT_TAKEN,
      ready: async () => {
        const lines = await readFile(join(this.dataDir, 'postmaster.pid'), 'utf8').then(
          (text) => text.split('\n'),
          () => [],
        );
        if (lines[STATUS_LINE]?.trim() !== 'ready' || lines[PORT_LINE]?.trim() !== String(port)) return false;
        this.postmasterPid = Number(lines[PID_LINE]);
        return true;
      },
    });
    return outcome === 'ready';
  }

  async psql(sql: string, opts: { database?: string } = {}): Promise<string> {
    const psql = isExecutable(join(this.bin, 'psql')) ? join(this.bin, 'psql') : findExecutable('psql');
    if (psql === undefined) throw new PsqlError('psql not found: run scripts/ensure-deps.sh');
    const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'];
    args.push('-h', this.socketDir, '-p', String(this.port), '-U', 'postgres');
    args.push('-d', opts.database ?? 'postgres', '-f', '-');
    const result = await runCommand(psql, args, { env: pgEnv(), input: sql });
    if (result.code !== 0) {
      throw new PsqlError(`psql exited with ${result.code}: ${result.stderr.trim()}`);
    }
    return result.stdout;
  }

  /** Fast shutdown (SIGINT to the postmaster), SIGKILL after a grace period; removes every dir. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.proc?.stop('SIGINT', STOP_GRACE_MS, this.postmasterPid);
    this.cleanup();
    untrackCleanup(this.cleanup);
  }
}
