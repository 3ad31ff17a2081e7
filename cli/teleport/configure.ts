import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { BadParameterError } from '#libs/common';
import { DEFAULT_DATA_DIR, DEFAULT_NATS_LISTEN_ADDR, DEFAULT_WEB_LISTEN_ADDR } from '#libs/config';

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

/** A YAML double-quoted string: JSON's escaping is valid there. */
const q = (value: string): string => JSON.stringify(value);

export interface StarterOptions {
  clusterName: string;
  dataDir: string;
  publicAddr?: string;
  natsAddr: string;
  nodename: string;
  /** `--acme-email`: a certificate from Let's Encrypt for the cluster name, on port 443. */
  acmeEmail?: string;
}

/** `teleport configure`'s file: every setting an auth and proxy host starts with, and the others commented, with what they do. */
export function starterConfig(o: StarterOptions): string {
  return `# dbaccess: teleport.yaml of an auth and proxy host, written by 'teleport configure'.
# Start with: teleport start --config=<this file>. Reference: docs/configuration.md.
version: v3
teleport:
  nodename: ${q(o.nodename)}
  # State and keys: the key-encryption key, the admin identity, the embedded NATS store.
  data_dir: ${q(o.dataDir)}
  nats:
    # Without servers, teleport start runs its own nats-server (JetStream, under data_dir),
    # listening here. Change the port if something else on this host already uses it.
    listen_addr: ${q(o.natsAddr)}
    # Or point every service at a NATS cluster of your own (teleport nats configure writes its config):
    # servers: [nats://nats-1:4222, nats://nats-2:4222]
auth_service:
  enabled: "yes"
  # Fixed when the cluster is first created.
  cluster_name: ${q(o.clusterName)}
  # Static join tokens, roles:token; they never expire (tctl tokens add makes ones that do):
  # tokens:
  #   - "db:a-long-random-secret"
proxy_service:
  enabled: "yes"
  # The HTTPS API, the signup pages and PostgreSQL clients, all on this one port.
  web_listen_addr: ${q(o.acmeEmail ? ':443' : DEFAULT_WEB_LISTEN_ADDR)}
${o.publicAddr ? `  public_addr: ${q(o.publicAddr)}` : '  # The address users and Database Services reach this proxy at (names it in its certificate):\n  # public_addr: "proxy.example.com:3080"'}
${
  o.acmeEmail
    ? `  # A certificate for public_addr from Let's Encrypt, which validates on port 443 of that name (open it to all):
  acme:
    enabled: "yes"
    email: ${q(o.acmeEmail)}
    # uri: "https://acme-staging-v02.api.letsencrypt.org/directory"   # another ACME CA`
    : `  # The certificate browsers and tsh see; without one, the cluster's own (tsh login --insecure once):
  # https_keypairs:
  #   - key_file: /etc/teleport/proxy.key
  #     cert_file: /etc/teleport/proxy.crt
  # or one from Let's Encrypt for public_addr (teleport configure --acme --acme-email=...):
  # acme:
  #   enabled: "yes"
  #   email: "admin@example.com"`
}
ssh_service:
  enabled: "no"
# How long audit events are kept, and how much of them (the defaults):
# audit:
#   retention_period: 2160h
#   max_size: 1GiB
`;
}

/** Whether something on this host already listens at host:port. */
function inUse(addr: string): Promise<boolean> {
  const i = addr.lastIndexOf(':');
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(Number(addr.slice(i + 1)), addr.slice(0, i), () => server.close(() => resolve(false)));
  });
}

export function registerConfigureCommand(program: Command): void {
  program
    .command('configure')
    .description('Write a starter teleport.yaml for an auth and proxy host')
    .option('--cluster-name <name>', 'the cluster name (cannot change later)', hostname())
    .option('--data-dir <dir>', 'where state and keys live', DEFAULT_DATA_DIR)
    .option('--public-addr <addr>', 'host:port users reach the proxy at')
    .option('--acme', "get the proxy's certificate from Let's Encrypt (the cluster name must be a DNS name of this host, port 443 open)")
    .option('--acme-email <email>', "the e-mail address of the Let's Encrypt account (with --acme)")
    .option('-o, --output <dest>', 'stdout, file (/etc/teleport.yaml) or file:///path', 'stdout')
    .action(
      async (opts: { clusterName: string; dataDir: string; publicAddr?: string; output: string; acme?: boolean; acmeEmail?: string }) => {
        if (opts.acme && !opts.acmeEmail)
          throw new BadParameterError("--acme needs --acme-email: the address Let's Encrypt writes to about the certificate");
        if (opts.acmeEmail && !opts.acme) throw new BadParameterError('--acme-email goes with --acme');
        const natsAddr = DEFAULT_NATS_LISTEN_ADDR;
        const text = starterConfig({
          ...opts,
          ...(opts.acme ? { acmeEmail: opts.acmeEmail, publicAddr: opts.publicAddr ?? `${opts.clusterName}:443` } : {}),
          natsAddr,
          nodename: hostname(),
        });
        const path = writeOutput(opts.output, text);
        if (!path) return;
        process.stdout.write(`Wrote config to file "${path}". Now you can start the server: teleport start --config="${path}"\n`);
        if (await inUse(natsAddr))
          process.stdout.write(
            `Note: ${natsAddr} is already in use on this host, and the cluster runs its own NATS there: ` +
              `change teleport.nats.listen_addr in ${path} to a free port first.\n`,
          );
      },
    );
}
