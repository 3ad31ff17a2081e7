import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, httpsInsecure, runCommand, startNats, type NatsServer } from '#libs/testing';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/**
 * The build the tests run: this checkout's, or DBACCESS_DIST (another checkout's dist/, e.g. of the
 * commit before a fix, to see the test that covers it fail there).
 */
const DIST = process.env.DBACCESS_DIST ?? join(ROOT, 'dist');
export const BIN = {
  teleport: join(DIST, 'cli/teleport/main.js'),
  tctl: join(DIST, 'cli/tctl/main.js'),
  tsh: join(DIST, 'cli/tsh/main.js'),
};

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of our built binaries to completion. */
export async function run(
  bin: keyof typeof BIN,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<RunResult> {
  if (!existsSync(BIN[bin])) throw new Error(`${BIN[bin]} is missing: run 'npm run build' first (npm test does)`);
  const result = await runCommand(process.execPath, [BIN[bin], ...args], {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    input: opts.input,
  });
  return { ...result, code: result.code ?? -1 };
}

/**
 * A cluster as users run it: `teleport start -c teleport.yaml` as a child process, against the
 * harness's nats-server, with its own data dir, TELEPORT_HOME and proxy port on loopback.
 */
export class TestCluster {
  readonly configFile: string;
  readonly dataDir: string;
  readonly tshHome: string;
  private process?: ChildProcess;
  private log = '';

  private constructor(
    /** The first NATS node; `natsNodes` has every node of a NATS cluster. */
    readonly nats: NatsServer,
    readonly natsNodes: NatsServer[],
    readonly proxyAddr: string,
    readonly clusterName: string,
    readonly dir: string,
    /** The process's descriptor limit (`ulimit -n`), as a production host might set it. */
    private readonly maxOpenFiles?: number,
    /** How `teleport start` is run, given the config file (default: this checkout's teleport with -c). */
    private readonly command?: (configFile: string) => string[],
  ) {
    this.configFile = join(dir, 'teleport.yaml');
    this.dataDir = join(dir, 'data');
    this.tshHome = join(dir, 'tsh');
  }

  /** With `proxyListenHost` (e.g. 0.0.0.0), the proxy listens there too, for hosts that are not this one. */
  static async start(
    opts: {
      clusterName?: string;
      extraConfig?: string;
      proxyListenHost?: string;
      maxOpenFiles?: number;
      command?: (configFile: string) => string[];
      /** auth_service.tokens entries (static join tokens), as `roles:token`. */
      staticTokens?: string[];
      /** A NATS cluster of this many nodes, streams and buckets replicated on up to three. */
      natsNodes?: number;
      /** auth_service.listen_addr: where proxies join at the auth service itself. */
      authListenAddr?: string;
      /** More proxy_service settings, as YAML lines indented for that section. */
      proxyConfig?: string;
    } = {},
  ): Promise<TestCluster> {
    const nodes = opts.natsNodes ?? 1;
    const nats = await startClusterNats(nodes);
    const cluster = new TestCluster(
      nats.servers[0]!,
      nats.servers,
      `127.0.0.1:${await freePort()}`,
      opts.clusterName ?? 'test-cluster',
      nats.dir,
      opts.maxOpenFiles,
      opts.command,
    );
    writeFileSync(
      cluster.configFile,
      `teleport:\n  data_dir: ${cluster.dataDir}\n  nats:\n    servers: [${nats.servers.map((n) => n.url).join(', ')}]\n` +
        (nodes > 1 ? `    replicas: ${Math.min(nodes, 3)}\n` : '') +
        `auth_service:\n  cluster_name: ${cluster.clusterName}\n` +
        (opts.staticTokens ? `  tokens: ${JSON.stringify(opts.staticTokens)}\n` : '') +
        (opts.authListenAddr ? `  listen_addr: ${opts.authListenAddr}\n` : '') +
        `proxy_service:\n  web_listen_addr: ${opts.proxyListenHost ? cluster.proxyAddr.replace('127.0.0.1', opts.proxyListenHost) : cluster.proxyAddr}\n` +
        (opts.proxyConfig ?? '') +
        (opts.extraConfig ?? ''),
    );
    await cluster.startProcess();
    return cluster;
  }

  async startProcess(): Promise<void> {
    this.log = '';
    const command = this.command?.(this.configFile) ?? [process.execPath, BIN.teleport, 'start', '-c', this.configFile];
    const child = this.maxOpenFiles
      ? spawn('bash', ['-c', `ulimit -n ${this.maxOpenFiles} && exec "$@"`, 'bash', ...command], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.process = child;
    const deadline = Date.now() + 60_000;
    while (!this.log.includes('the cluster is up')) {
      if (child.exitCode !== null) throw new Error(`teleport start exited with ${child.exitCode}:\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`teleport start did not come up in 60s:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stopProcess(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    await stopChild(child, 10_000);
  }

  /** Every service stopped and started again, NATS included (its store survives). */
  async restart(): Promise<void> {
    await this.stopProcess();
    await this.nats.restart();
    await this.startProcess();
  }

  logs(): string {
    return this.log;
  }

  /** The process id of `teleport start` (bash, when limiting descriptors, execs it in place). */
  pid(): number | undefined {
    return this.process?.pid;
  }

  tctl(args: string[], opts: { input?: string } = {}): Promise<RunResult> {
    return run('tctl', ['-c', this.configFile, ...args], { ...opts, env: { TELEPORT_HOME: this.tshHome } });
  }

  tsh(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
    return run('tsh', args, { ...opts, env: { TELEPORT_HOME: this.tshHome, ...opts.env } });
  }

  /** Creates a user and sets its password through the signup link's JSON endpoint. */
  async createUser(name: string, password: string, flags: string[] = ['--roles=access']): Promise<void> {
    const added = await this.tctl(['users', 'add', name, ...flags]);
    if (added.code !== 0) throw new Error(added.stderr);
    const token = /\/web\/invite\/([0-9a-f]+)/.exec(added.stdout)![1]!;
    const set = await this.api('PUT', '/v1/webapi/users/password/token', { token, password });
    if (set.status !== 200) throw new Error(`setting the password of ${name} failed: ${JSON.stringify(set.json)}`);
  }

  /** Calls the proxy's web API without a client certificate (the proxy's certificate is not verified). */
  async api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await httpsInsecure(`https://${this.proxyAddr}${path}`, method, body);
    return { status: res.status, json: res.text ? JSON.parse(res.text) : undefined };
  }

  async stop(): Promise<void> {
    await this.stopProcess();
    for (const node of this.natsNodes) await node.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The cluster's external NATS as an operator runs one: its configuration from `teleport nats configure`
 * (which makes the bus keys in the data dir), then nats-server with it. Only the cluster's credentials get
 * in. With `nodes` > 1, a NATS cluster: each node configured alike, with its own name, store and route port.
 */
async function startClusterNats(nodes: number): Promise<{ servers: NatsServer[]; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-cluster-'));
  const routePorts = new Set<number>();
  while (nodes > 1 && routePorts.size < nodes) routePorts.add(await freePort());
  const routes = [...routePorts].map((port) => `nats://127.0.0.1:${port}`).join(',');
  const servers: NatsServer[] = [];
  try {
    for (const [i, routePort] of (nodes > 1 ? [...routePorts] : [0]).entries()) {
      const file = join(dir, `nats-server-${i}.conf`);
      const storeDir = join(dir, `nats-store-${i}`);
      const clustered = nodes > 1 ? [`--server-name=nats-${i}`, `--cluster-listen=127.0.0.1:${routePort}`, `--routes=${routes}`] : [];
      const configured = await run('teleport', [
        'nats',
        'configure',
        `--data-dir=${join(dir, 'data')}`,
        `--store-dir=${storeDir}`,
        ...clustered,
        '-o',
        file,
      ]);
      if (configured.code !== 0) throw new Error(`teleport nats configure failed: ${configured.stderr}`);
      servers.push(await startNats({ config: { file, storeDir } }));
    }
  } catch (err) {
    for (const server of servers) await server.stop();
    throw err;
  }
  return { servers, dir };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopChild(child: ChildProcess, graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
