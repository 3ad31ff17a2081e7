import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { BusCredentials, busIdentity, BusRole, busSigner, loadBusKeys, loadOrCreateBusKeys, natsServerConfig } from '#libs/bus';
import { BadParameterError, parseDuration } from '#libs/common';
import { DEFAULT_CONFIG_FILE, readConfigFile, resolveConfig, type Config } from '#libs/config';
import { loadKek } from '#services/auth';
import { list } from '../shared/run.js';

interface NatsFlags {
  config?: string;
  dataDir?: string;
}

/** The auth host's configuration; --data-dir stands for teleport.data_dir (the kek file defaults under it too). */
function configOf(flags: NatsFlags): Config {
  const file = flags.config ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const fc = file ? readConfigFile(file) : {};
  if (flags.dataDir) fc.teleport = { ...fc.teleport, data_dir: flags.dataDir };
  return resolveConfig(fc, file, process.env);
}

function write(path: string, text: string, mode: number): void {
  try {
    writeFileSync(path, text, { mode });
  } catch (err) {
    throw new BadParameterError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

interface ConfigureFlags {
  listen: string;
  storeDir: string;
  serverName: string;
  monitorListen?: string;
  clusterName: string;
  clusterListen: string;
  routes?: string[];
  output: string;
}

export function registerNatsCommands(program: Command): void {
  const nats = program.command('nats').description("The cluster's NATS server (the bus)");
  nats
    .command('configure')
    .description(
      "Write the configuration of an external nats-server for this cluster (operator mode: only the cluster's credentials get in)",
    )
    .option('-c, --config <file>', "teleport.yaml of the auth host (its data_dir keeps the bus keys, sealed with the auth service's kek)")
    .option('--data-dir <dir>', 'the auth host data dir, if not the config file one')
    .option('--listen <host:port>', 'where nats-server listens', '0.0.0.0:4222')
    .option('--store-dir <dir>', "JetStream's store", '/var/lib/nats')
    .option('--server-name <name>', "the server's name (unique in a NATS cluster)", hostname())
    .option('--monitor-listen <host:port>', "where NATS's monitoring endpoint (/healthz) listens, for health probes")
    .option('--cluster-name <name>', 'the NATS cluster this node belongs to (with --routes)', 'dbaccess')
    .option('--cluster-listen <host:port>', "where this node listens for the other nodes' routes", '0.0.0.0:6222')
    .option(
      '--routes <urls>',
      "every node's route URL, this one's included (nats://nats-1:6222,nats://nats-2:6222,...): one node of a NATS cluster",
      list,
    )
    .requiredOption('-o, --output <file>', 'the nats-server configuration file to write')
    .action(async (flags: NatsFlags & ConfigureFlags) => {
      const config = configOf(flags);
      const keys = loadOrCreateBusKeys(config.nats.keysFile, loadKek(config.auth.kek, true));
      const cluster = flags.routes?.length ? { name: flags.clusterName, listen: flags.clusterListen, routes: flags.routes } : undefined;
      const text = await natsServerConfig(keys, {
        listen: flags.listen,
        storeDir: flags.storeDir,
        serverName: flags.serverName,
        ...(flags.monitorListen ? { monitorListen: flags.monitorListen } : {}),
        ...(cluster ? { cluster } : {}),
      });
      // With routes it holds their password.
      write(flags.output, text, cluster ? 0o600 : 0o644);
      process.stdout.write(
        `Wrote the NATS server configuration to ${flags.output} (the bus keys are in ${config.nats.keysFile}).\n` +
          `Start the server with 'nats-server -c ${flags.output}', and set teleport.nats.servers to its address in teleport.yaml.\n` +
          (cluster
            ? `This node is one of ${cluster.routes.length} of the NATS cluster "${cluster.name}": configure each node alike ` +
              `(same bus keys, its own --server-name), and set teleport.nats.replicas to ${Math.min(cluster.routes.length, 3)}.\n`
            : ''),
      );
    });
  nats
    .command('creds')
    .description("Write credentials for NATS's own tools (nats --creds FILE): the cluster's admin on the bus, short-lived")
    .option('-c, --config <file>', 'teleport.yaml of the auth host')
    .option('--data-dir <dir>', 'the auth host data dir, if not the config file one')
    .option('--ttl <duration>', 'how long they are valid', '1h')
    .requiredOption('-o, --output <file>', 'the .creds file to write (mode 0600)')
    .action(async (flags: NatsFlags & { ttl: string; output: string }) => {
      const config = configOf(flags);
      const keys = loadBusKeys(config.nats.keysFile, loadKek(config.auth.kek, false));
      const credentials = await BusCredentials.local(busSigner(keys), busIdentity(BusRole.Admin, 'operator'), parseDuration(flags.ttl));
      credentials.stopRenewal();
      write(flags.output, credentials.toCredsFile(), 0o600);
      process.stdout.write(
        `Wrote admin credentials for the bus to ${flags.output}, valid until ${credentials.expires()?.toISOString()}.\n`,
      );
    });
}
