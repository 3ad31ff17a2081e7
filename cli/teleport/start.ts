import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { Logger } from '@nestjs/common';
import { ServiceLogger, type RunningService } from '#libs/bus';
import { BadParameterError } from '#libs/common';
import { embeddedNatsDir, loadConfig } from '#libs/config';
import { loadKek, startAuth } from '#services/auth';
import { startInventory } from '#services/inventory';
import { startProxy } from '#services/proxy';
import { list } from '../shared/run.js';
import { startEmbeddedNats } from './embedded-nats.js';

/** Teleport's role names and the services each runs. `auth` is the whole control plane. */
const ROLE_SERVICES: Record<string, string[]> = {
  auth: ['auth', 'inventory'],
  proxy: ['proxy'],
  inventory: ['inventory'],
};

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('Start the cluster: by default every service of the config in this process')
    .option('-c, --config <file>', 'teleport.yaml (default /etc/teleport.yaml when it exists)')
    .option('--roles <roles>', 'comma-separated roles to run: auth, proxy')
    .option('-d, --debug', 'verbose logs')
    .action(async (opts: { config?: string; roles?: string; debug?: boolean }) => {
      Logger.overrideLogger(new ServiceLogger(opts.debug));
      const logger = new Logger('teleport');
      const config = loadConfig(opts.config);
      const roles = opts.roles ? list(opts.roles) : [...(config.auth.enabled ? ['auth'] : []), ...(config.proxy.enabled ? ['proxy'] : [])];
      const unknown = roles.filter((r) => !ROLE_SERVICES[r]);
      if (unknown.length) throw new BadParameterError(`unknown role ${unknown.join(', ')}: use ${Object.keys(ROLE_SERVICES).join(', ')}`);
      if (!roles.length) throw new BadParameterError('nothing to run: enable auth_service or proxy_service, or pass --roles');
      const services = new Set(roles.flatMap((r) => ROLE_SERVICES[r]!));

      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      const running: RunningService[] = [];
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.log(`${signal}: stopping`);
        for (const service of running.reverse())
          await service.close().catch((err: Error) => logger.error(`${service.name}: ${err.message}`));
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));

      if (config.nats.embedded) {
        const nats = await startEmbeddedNats(config.nats.listenAddr, embeddedNatsDir(config.dataDir), (line) => logger.log(line));
        running.push({ name: 'nats-server', close: () => nats.stop() });
      }
      const natsServers = config.nats.servers;
      if (services.has('auth')) {
        const kek = loadKek(config.auth.kek, 'file' in config.auth.kek);
        running.push(await startAuth({ natsServers, clusterName: config.auth.clusterName, dataDir: config.dataDir, kek }));
      }
      if (services.has('inventory')) running.push(await startInventory({ natsServers }));
      if (services.has('proxy')) {
        const proxy = await startProxy({
          natsServers,
          webListenAddr: config.proxy.webListenAddr,
          publicAddrs: config.proxy.publicAddrs,
          hostId: config.nodename,
        });
        running.push(proxy);
        const { port } = proxy.address();
        logger.log(`the cluster is up; web API at https://${config.proxy.publicAddrs[0] ?? `localhost:${port}`}`);
      }
    });
}
