import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { natsServerConfig, type BusKeys } from '#libs/bus';
import { BadParameterError, ConnectionProblemError, parseHostPort } from '#libs/common';
import { embeddedNatsConfigPath, embeddedNatsDir, type Config } from '#libs/config';

export function natsBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/bin', '/usr/bin'])) {
    if (dir && existsSync(`${dir}/nats-server`)) return `${dir}/nats-server`;
  }
  throw new BadParameterError(
    "nats-server is not installed: install it ('apt-get install nats-server') or set teleport.nats.servers / NATS_URL",
  );
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * Runs nats-server with JetStream under the data dir, on `teleport.nats.listen_addr`, in operator mode
 * with the cluster's bus keys: no client gets in without credentials the cluster issued. It stops when
 * this process stops.
 */
export async function startEmbeddedNats(config: Config, keys: BusKeys, log: (line: string) => void): Promise<{ stop(): Promise<void> }> {
  const { host, port } = parseHostPort(config.nats.listenAddr, 4222);
  if (await portOpen(host, port)) {
    throw new BadParameterError(
      `${host}:${port} is already in use (another NATS?): set teleport.nats.listen_addr to a free address, or point teleport.nats.servers at that server`,
    );
  }
  const storeDir = embeddedNatsDir(config.dataDir);
  mkdirSync(storeDir, { recursive: true, mode: 0o700 });
  const configFile = embeddedNatsConfigPath(config.dataDir);
  writeFileSync(configFile, await natsServerConfig(keys, { listen: `${host}:${port}`, storeDir }), { mode: 0o600 });
  const child: ChildProcess = spawn(natsBinary(), ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(host, port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new ConnectionProblemError(`the embedded nats-server did not start: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log(
    `started an embedded NATS server with JetStream on ${host}:${port} (store ${storeDir}, credentials required); set teleport.nats.servers to use your own`,
  );
  return {
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
