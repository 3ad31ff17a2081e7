// Our cluster as users run it, from the built binaries: `teleport start -c FILE` against a fresh
// nats-server, `teleport db start` for one PostgreSQL, and a user logged in with tsh.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, startNats, type NatsServer } from '#libs/testing';
import { httpsInsecure } from '#libs/testing';
import { LongRunning, runCommand, type CommandResult } from './procs.js';

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

  /** Starts nats-server, writes teleport.yaml and runs `teleport start` until it says the cluster is up. */
  static async start(dir: string, clusterName: string, onNats: (nats: NatsServer) => void, extraConfig = ''): Promise<BenchCluster> {
    const nats = await startNats();
    onNats(nats);
    const cluster = new BenchCluster(dir, nats, `127.0.0.1:${await freePort()}`, clusterName);
    writeFileSync(
      cluster.configFile,
      `teleport:\n  data_dir: ${cluster.dataDir}\n  nats:\n    servers: [${nats.url}]\n` +
        `auth_service:\n  cluster_name: ${clusterName}\n` +
        `proxy_service:\n  web_listen_addr: ${cluster.proxyAddr}\n` +
        extraConfig,
    );
    cluster.process = new LongRunning('teleport start', process.execPath, [BIN.teleport, 'start', '-c', cluster.configFile]);
    await cluster.process.waitFor('the cluster is up');
    return cluster;
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
    const service = new LongRunning('teleport db start', process.execPath, [
      BIN.teleport,
      'db',
      'start',
      `--token=${token}`,
      `--proxy=${this.proxyAddr}`,
      `--name=${db.name}`,
      '--protocol=postgres',
      `--uri=${db.uri}`,
      `--data-dir=${join(this.dir, 'db-service')}`,
    ]);
    await service.waitFor('the Database Service is up');
    return service;
  }
}
