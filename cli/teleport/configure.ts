import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { stringify as stringifyYaml } from 'yaml';
import { BadParameterError } from '#libs/common';
import { DEFAULT_DATA_DIR, DEFAULT_WEB_LISTEN_ADDR } from '#libs/config';

/** Where `-o` sends a generated config: stdout, /etc/teleport.yaml (`file`), or a `file:///path`. */
export function writeOutput(output: string, text: string): string | undefined {
  if (output === 'stdout' || output === '-') {
    process.stdout.write(text);
    return undefined;
  }
  const path = output === 'file' ? '/etc/teleport.yaml' : output.startsWith('file://') ? output.slice('file://'.length) : undefined;
  if (!path) throw new BadParameterError(`unsupported --output "${output}": use stdout, file, or file:///path/to/teleport.yaml`);
  try {
    writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BadParameterError(
      code === 'EEXIST' ? `${path} already exists; remove it or write elsewhere with -o file:///path` : `cannot write ${path}: ${code}`,
    );
  }
  return path;
}

export function registerConfigureCommand(program: Command): void {
  program
    .command('configure')
    .description('Write a starter teleport.yaml for an auth and proxy host')
    .option('--cluster-name <name>', 'the cluster name (cannot change later)', hostname())
    .option('--data-dir <dir>', 'where state and keys live', DEFAULT_DATA_DIR)
    .option('--public-addr <addr>', 'host:port users reach the proxy at')
    .option('-o, --output <dest>', 'stdout, file (/etc/teleport.yaml) or file:///path', 'stdout')
    .action((opts: { clusterName: string; dataDir: string; publicAddr?: string; output: string }) => {
      const config = {
        version: 'v3',
        teleport: { nodename: hostname(), data_dir: opts.dataDir },
        auth_service: { enabled: 'yes', cluster_name: opts.clusterName },
        proxy_service: {
          enabled: 'yes',
          web_listen_addr: DEFAULT_WEB_LISTEN_ADDR,
          ...(opts.publicAddr ? { public_addr: opts.publicAddr } : {}),
        },
        ssh_service: { enabled: 'no' },
      };
      const header =
        '# dbaccess configuration. teleport.nats.servers: [nats://host:4222] points the services at a NATS\n' +
        '# cluster; without it, teleport start runs its own nats-server with JetStream under data_dir.\n';
      // Quoted strings: YAML 1.1 readers would take a bare yes/no for a boolean.
      const path = writeOutput(opts.output, header + stringifyYaml(config, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' }));
      if (path) process.stdout.write(`Wrote config to file "${path}". Now you can start the server: teleport start --config="${path}"\n`);
    });
}
