import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { BusCredentials, busIdentity, BusRole, busSigner, loadBusKeys, loadOrCreateBusKeys, natsServerConfig } from '#libs/bus';
import { BadParameterError, parseDuration } from '#libs/common';
import { DEFAULT_CONFIG_FILE, readConfigFile, resolveConfig, type Config } from '#libs/config';
import { loadKek } from '#services/auth';

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
    .requiredOption('-o, --output <file>', 'the nats-server configuration file to write')
    .action(async (flags: NatsFlags & { listen: string; storeDir: string; serverName: string; output: string }) => {
      const config = configOf(flags);
      const keys = loadOrCreateBusKeys(config.nats.keysFile, loadKek(config.auth.kek, true));
      write(
        flags.output,
        await natsServerConfig(keys, { listen: flags.listen, storeDir: flags.storeDir, serverName: flags.serverName }),
        0o644,
      );
      process.stdout.write(
        `Wrote the NATS server configuration to ${flags.output} (the bus keys are in ${config.nats.keysFile}).\n` +
          `Start the server with 'nats-server -c ${flags.output}', and set teleport.nats.servers to its address in teleport.yaml.\n`,
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
