// Our cluster as users run it, from the built binaries: `teleport start -c FILE` against a fresh
// nats-server, `teleport db start` for one PostgreSQL, and a user logged in with tsh.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { BusCredentials, busIdentity, BusRole, busSigner, connectNats, loadBusKeys, RpcClient } from '#libs/bus';
import { busKeysPath } from '#libs/config';
import { loadKek } from '#services/auth';
import { freePort, startNats, type NatsServer } from '#libs/testing';
import { httpsInsecure } from '#libs/testing';
import { LongRunning, runCommand, type CommandResult } from './procs.js';
import type { TelemetrySink } from './telemetry.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const BIN = {
  teleport: join(ROOT, 'dist/cli/teleport/main.js'),
  tctl: join(ROOT, 'dist/cli/tctl/main.js'),
  tsh: join(ROOT, 'dist/cli/tsh/main.js'),
};

export class BenchCluster {
  readonly configFile: string;
  readonly dataDir: string;
  readonly tshHome: string;
  process?: LongRunning;
  private telemetry?: TelemetrySink;
  /** Node flags for our long-running processes (--cpu-prof). */
  private nodeArgs: string[] = [];

  private constructor(
    readonly dir: string,
    readonly nats: NatsServer,
    readonly proxyAddr: string,
    readonly clusterName: string,
  ) {
    this.configFile = join(dir, 'teleport.yaml');
    this.dataDir = join(dir, 'data');
    this.tshHome = join(dir, 'tsh');
  }

  /**
   * Configures and starts nats-server as an operator does (`teleport nats configure`: credentials
   * required), writes teleport.yaml and runs `teleport start` until it says the cluster is up.
   */
  static async start(
    dir: string,
    clusterName: string,
    onNats: (nats: NatsServer) => void,
    extraConfig = '',
    telemetry?: TelemetrySink,
    cpuProfDir?: string,
  ): Promise<BenchCluster> {
    const natsConfig = join(dir, 'nats-server.conf');
    const storeDir = join(dir, 'nats-store');
    const configured = await runCommand(process.execPath, [
      BIN.teleport,
      'nats',
      'configure',
      `--data-dir=${join(dir, 'data')}`,
      `--store-dir=${storeDir}`,
      '-o',
      natsConfig,
    ]);
    if (configured.code !== 0) throw new Error(`teleport nats configure: ${configured.stderr.trim()}`);
    const nats = await startNats({ config: { file: natsConfig, storeDir } });
    onNats(nats);
    const cluster = new BenchCluster(dir, nats, `127.0.0.1:${await freePort()}`, clusterName);
    writeFileSync(
      cluster.configFile,
      `teleport:\n  data_dir: ${cluster.dataDir}\n  nats:\n    servers: [${nats.url}]\n` +
        `auth_service:\n  cluster_name: ${clusterName}\n` +
        `proxy_service:\n  web_listen_addr: ${cluster.proxyAddr}\n` +
        extraConfig,
    );
    cluster.telemetry = telemetry;
    if (cpuProfDir) cluster.nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`];
    cluster.process = new LongRunning(
      'teleport start',
      process.execPath,
      [
        ...cluster.nodeArgs,
        BIN.teleport,
        'start',
        '-c',
        cluster.configFile,
        ...(telemetry ? [`--diag-addr=${await telemetry.diagAddr()}`] : []),
      ],
      telemetry ? { env: telemetry.env() } : {},
    );
    await cluster.process.waitFor('the cluster is up');
    return cluster;
  }

  /** A connection to the bus as its admin, with the cluster's own keys; close it after. */
  async bus(): Promise<{ nc: NatsConnection; rpc: RpcClient }> {
    const keys = loadBusKeys(busKeysPath(this.dataDir), loadKek({ file: join(this.dataDir, 'kek') }, false));
    const credentials = await BusCredentials.local(busSigner(keys), busIdentity(BusRole.Admin, 'bench'));
    credentials.stopRenewal();
    const nc = await connectNats({ servers: [this.nats.url], credentials }, 'bench');
    return { nc, rpc: new RpcClient(nc, credentials.identity) };
  }

  run(bin: keyof typeof BIN, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
    return runCommand(process.execPath, [BIN[bin], ...args], {
      input: opts.input,
      env: { ...process.env, TELEPORT_HOME: this.tshHome, ...opts.env },
    });
  }

  async tctl(...args: string[]): Promise<string> {
    const r = await this.run('tctl', ['-c', this.configFile, ...args]);
    if (r.code !== 0) throw new Error(`tctl ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  async tsh(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
    const r = await this.run('tsh', args, opts);
    if (r.code !== 0) throw new Error(`tsh ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** `tctl users add`, then the password through the signup link's JSON endpoint, then `tsh login`. */
  async loginUser(name: string, flags: string[]): Promise<void> {
    const added = await this.tctl('users', 'add', name, ...flags);
    const token = /\/web\/invite\/([0-9a-f]+)/.exec(added)?.[1];
    if (!token) throw new Error(`tctl users add printed no signup link:\n${added}`);
    const password = `${name}-bench-password-123`;
    const set = await httpsInsecure(`https://${this.proxyAddr}/v1/webapi/users/password/token`, 'PUT', { token, password });
    if (set.status !== 200) throw new Error(`setting the password of ${name} failed: HTTP ${set.status} ${set.text}`);
    await this.tsh(['login', '--insecure', `--proxy=${this.proxyAddr}`, `--user=${name}`], { input: `${password}\n` });
  }

  /** `teleport db start` with a fresh join token, serving one database. */
  async startDbService(db: { name: string; uri: string }): Promise<LongRunning> {
    const token = (await this.tctl('tokens', 'add', '--type=db', '--format=text')).trim();
    const service = new LongRunning(
      'teleport db start',
      process.execPath,
      [
        ...this.nodeArgs,
        BIN.teleport,
        'db',
        'start',
        `--token=${token}`,
        `--proxy=${this.proxyAddr}`,
        `--name=${db.name}`,
        '--protocol=postgres',
        `--uri=${db.uri}`,
        `--data-dir=${join(this.dir, 'db-service')}`,
        ...(this.telemetry ? [`--diag-addr=${await this.telemetry.diagAddr()}`] : []),
      ],
      this.telemetry ? { env: this.telemetry.env() } : {},
    );
    await service.waitFor('the Database Service is up');
    return service;
  }
}
