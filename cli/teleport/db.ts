import { hostname } from 'node:os';
import type { Command } from 'commander';
import { stringify as stringifyYaml } from 'yaml';
import { BadParameterError } from '#libs/common';
import { DEFAULT_DATA_DIR, type DatabaseConfig } from '#libs/config';
import { list } from '../shared/run.js';
import { writeOutput } from './configure.js';

export interface DbFlags {
  token?: string;
  proxy?: string;
  authServer?: string;
  caPin?: string;
  name?: string;
  description?: string;
  protocol?: string;
  uri?: string;
  labels?: string;
  caCertFile?: string;
  trust_system_cert_pool?: boolean;
  awsRegion?: string;
  dataDir?: string;
}

/** `--labels=env=dev,team=db` */
export function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of list(text)) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new BadParameterError(`invalid label "${pair}": use key=value, comma-separated`);
    labels[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return labels;
}

/** The one database the flags describe, as a db_service.databases entry; `prefix` is `db-` for `teleport start`'s flags. */
export function databaseFromFlags(flags: DbFlags, prefix = ''): DatabaseConfig {
  const missing = (['name', 'protocol', 'uri'] as const).filter((f) => !flags[f]);
  if (missing.length)
    throw new BadParameterError(
      `missing ${missing.map((f) => `--${prefix}${f}`).join(', ')}: a database needs a name, a protocol and a URI`,
    );
  if (flags.protocol !== 'postgres') throw new BadParameterError(`unsupported --${prefix}protocol "${flags.protocol}": use postgres`);
  const labels = parseLabels(flags.labels);
  return {
    name: flags.name!,
    ...(flags.description ? { description: flags.description } : {}),
    protocol: 'postgres',
    uri: flags.uri!,
    ...(Object.keys(labels).length ? { static_labels: labels } : {}),
    ...(flags.caCertFile || flags.trust_system_cert_pool
      ? {
          tls: {
            ...(flags.caCertFile ? { ca_cert_file: flags.caCertFile } : {}),
            ...(flags.trust_system_cert_pool ? { trust_system_cert_pool: true } : {}),
          },
        }
      : {}),
    ...(flags.awsRegion ? { aws: { region: flags.awsRegion } } : {}),
  };
}

export function addDbFlags(command: Command): Command {
  return command
    .option('--token <token>', 'join token, or a file holding it')
    .option('--proxy <addr>', 'the cluster proxy, host:port')
    .option('--auth-server <addr>', 'the same as --proxy')
    .option('--ca-pin <pin>', "the cluster's CA pin (tctl status), checked when joining")
    .option('--name <name>', 'database name, as users see it')
    .option('--description <text>', 'database description')
    .option('--protocol <protocol>', 'postgres')
    .option('--uri <host:port>', 'where the database listens')
    .option('--labels <k=v,...>', 'static labels')
    .option('--ca-cert-file <file>', "CA that signs the database's certificate (default: the cluster's db CA)")
    .option('--trust_system_cert_pool', "also trust the system's CAs for the database's certificate")
    .option('--aws-region <region>', 'AWS region of an RDS or Aurora database');
}

export function registerDbConfigureCommand(db: Command): void {
  addDbFlags(
    db
      .command('configure')
      .description('Generate Database Service configuration')
      .command('create')
      .description('Write a teleport.yaml for a Database Service'),
  )
    .option('-o, --output <dest>', 'stdout, file (/etc/teleport.yaml) or file:///path', 'stdout')
    .option('--data-dir <dir>', 'where state and keys live', DEFAULT_DATA_DIR)
    .option(
      '--dynamic-resources-labels <k=v,...>',
      'also serve the db resources (tctl create) with these labels; repeat for several selectors',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action((flags: DbFlags & { output: string; dataDir: string; dynamicResourcesLabels?: string[] }) => {
      const proxy = flags.proxy ?? flags.authServer;
      if (!proxy) throw new BadParameterError('--proxy is required: the address of the cluster proxy');
      const resources = (flags.dynamicResourcesLabels ?? []).map((text) => ({ labels: parseLabels(text) }));
      if (resources.some((r) => !Object.keys(r.labels).length))
        throw new BadParameterError('--dynamic-resources-labels needs key=value pairs, like env=dev or *=* for every db resource');
      const databases = flags.name || flags.uri || !resources.length ? [databaseFromFlags(flags)] : [];
      const config = {
        version: 'v3',
        teleport: {
          nodename: hostname(),
          data_dir: flags.dataDir,
          proxy_server: proxy,
          ...(flags.token ? { auth_token: flags.token } : {}),
        },
        db_service: { enabled: 'yes', ...(databases.length ? { databases } : {}), ...(resources.length ? { resources } : {}) },
        auth_service: { enabled: 'no' },
        proxy_service: { enabled: 'no' },
        ssh_service: { enabled: 'no' },
      };
      const path = writeOutput(flags.output, stringifyYaml(config, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' }));
      if (path) process.stdout.write(`Wrote config to file "${path}". Now you can start the server: teleport start --config="${path}"\n`);
    });
}
