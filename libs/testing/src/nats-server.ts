import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerStartError } from './errors.js';
import { findExecutable } from './executables.js';
import { removeDirSync, trackCleanup, untrackCleanup } from './exit-cleanup.js';
import { freePort } from './free-port.js';
import { ServerProcess } from './server-process.js';
import { acceptsTcp, awaitStart } from './startup.js';

const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 10_000;
const PORT_ATTEMPTS = 5;
const PORT_TAKEN = /address already in use/i;
const READY_LINE = 'Server is ready';

export interface NatsServer {
  url: string;
  port: number;
  /** JetStream's store (-sd); kept across restart(), removed by stop(). */
  storeDir: string;
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port and store: JetStream data survives. */
  restart(): Promise<void>;
  /** Stops the server for a while (an outage; SIGKILL for a crash); `up()` starts it again on the same port and store. */
  down(signal?: NodeJS.Signals): Promise<void>;
  up(): Promise<void>;
}

/**
 * A nats-server with JetStream on a free port of 127.0.0.1, its store in a fresh temp dir. With a
 * `config` (a cluster's `teleport nats configure` output, and the store dir it names), in that
 * configuration: only the cluster's credentials get in.
 */
export async function startNats(opts: { config?: { file: string; storeDir: string } } = {}): Promise<NatsServer> {
  const bin = findExecutable('nats-server');
  if (bin === undefined) {
    throw new ServerStartError('nats-server not found on PATH nor in /usr/sbin: run scripts/ensure-deps.sh');
  }
  const baseDir = await mkdtemp(join(tmpdir(), 'dbaccess-nats-'));
  const cleanup = (): void => removeDirSync(baseDir);
  trackCleanup(cleanup);
  try {
    const storeDir = opts.config?.storeDir ?? join(baseDir, 'store');
    await mkdir(storeDir, { recursive: true });
    const server = new LocalNatsServer(bin, baseDir, storeDir, cleanup, opts.config?.file);
    for (let attempt = 1; ; attempt++) {
      if (await server.launch(await freePort())) return server;
      if (attempt === PORT_ATTEMPTS) {
        throw new ServerStartError(`nats-server found its port taken ${PORT_ATTEMPTS} times in a row`);
      }
    }
  } catch (err) {
    cleanup();
    untrackCleanup(cleanup);
    throw err;
  }
}

class LocalNatsServer implements NatsServer {
  port = 0;
  private proc: ServerProcess | undefined;
  private stopped = false;

  constructor(
    private readonly bin: string,
    private readonly baseDir: string,
    readonly storeDir: string,
    private readonly cleanup: () => void,
    private readonly configFile?: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts on `port`; false if another process had bound it. */
  async launch(port: number): Promise<boolean> {
    this.port = port;
    const store = this.configFile ? ['-c', this.configFile] : ['-js', '-sd', this.storeDir];
    const proc = new ServerProcess(this.bin, [...store, '-a', '127.0.0.1', '-p', String(port)], {
      cwd: this.baseDir,
      logFile: join(this.baseDir, 'nats-server.log'),
    });
    this.proc = proc;
    const outcome = await awaitStart(proc, {
      name: `nats-server on 127.0.0.1:${port}`,
      timeoutMs: START_TIMEOUT_MS,
      portTaken: PORT_TAKEN,
      ready: async () => proc.log().includes(READY_LINE) && (await acceptsTcp(port)),
    });
    return outcome === 'ready';
  }

  async restart(): Promise<void> {
    await this.down();
    await this.up();
  }

  async down(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.stopped) throw new ServerStartError('nats-server was stopped; start a new one with startNats()');
    await this.proc?.stop(signal, STOP_GRACE_MS);
  }

  async up(): Promise<void> {
    if (!(await this.launch(this.port))) {
      throw new ServerStartError(`nats-server could not restart: another process took port ${this.port}`);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.proc?.stop('SIGTERM', STOP_GRACE_MS);
    this.cleanup();
    untrackCleanup(this.cleanup);
  }
}
