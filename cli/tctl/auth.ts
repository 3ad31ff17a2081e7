import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BadParameterError, parseDuration } from '#libs/common';
import type { AuthRpc, SignedCert } from '#libs/events';
import { formatIdentityFile, generateKeyPair } from '#libs/pki';
import { confirm } from '../shared/prompt.js';
import { list } from '../shared/run.js';
import { tctlClient, type TctlGlobals } from './credentials.js';

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
}

/** Existing files are replaced only with --overwrite, or when the user says so at the terminal (as Teleport's tctl). */
async function mayWrite(paths: string[], overwrite: boolean | undefined): Promise<void> {
  const existing = paths.filter((p) => existsSync(p));
  if (!existing.length || overwrite) return;
  if (await confirm(`Destination file(s) ${existing.join(', ')} exist. Overwrite?`)) return;
  throw new BadParameterError(`not overwriting ${existing.join(', ')}: pass --overwrite to replace them`);
}

export function registerAuthCommands(program: Command, globals: () => TctlGlobals): void {
  const auth = program.command('auth').description('Certificate authorities and certificates');

  auth
    .command('sign')
    .description('Sign a database server certificate (--format=db) or a user identity file (--format=file)')
    .requiredOption('--format <format>', 'db or file')
    .option('--host <hosts>', 'with --format=db: comma-separated names and IPs clients reach the database at')
    .option('--user <name>', 'with --format=file: the user to issue an identity for')
    .requiredOption('-o, --out <path>', 'output: a file name prefix (db) or file (file)')
    .option('--ttl <duration>', 'validity', '12h')
    .option('--overwrite', 'replace existing output files without asking')
    .action(async (opts: { format: string; host?: string; user?: string; out: string; ttl: string; overwrite?: boolean }) => {
      const ttlMs = parseDuration(opts.ttl);
      if (opts.format === 'db') {
        const hosts = list(opts.host);
        if (!hosts.length)
          throw new BadParameterError('--host is required with --format=db: the name(s) the Database Service reaches the database at');
        const [crt, key, cas] = ['crt', 'key', 'cas'].map((ext) => resolve(`${opts.out}.${ext}`)) as [string, string, string];
        await mayWrite([crt, key, cas], opts.overwrite);
        const keys = await generateKeyPair();
        const signed = await tctlClient(globals()).post<SignedCert>('/v1/admin/certs/db', {
          hosts,
          public_key: keys.publicKeyPem,
          ttl_ms: ttlMs,
        });
        writeSecret(key, keys.privateKeyPem);
        writeFileSync(crt, signed.cert);
        writeFileSync(cas, (signed.cas.db_client ?? []).join(''));
        process.stdout.write(
          `Database credentials have been written to ${key}, ${crt}, ${cas}.\n\n` +
            `PostgreSQL reads the key only if the user it runs as owns it and nobody else may read it:\n\n` +
            `chown postgres:postgres ${key} && chmod 600 ${key}\n\n` +
            `To enable mutual TLS on your PostgreSQL server, add the following to its postgresql.conf configuration file:\n\n` +
            `ssl = on\nssl_cert_file = '${crt}'\nssl_key_file = '${key}'\nssl_ca_file = '${cas}'\n\n` +
            `To enable client certificate authentication on your PostgreSQL server, add the following to its pg_hba.conf configuration file:\n\n` +
            `hostssl all             all             ::/0                    cert\nhostssl all             all             0.0.0.0/0               cert\n`,
        );
        return;
      }
      if (opts.format === 'file') {
        if (!opts.user) throw new BadParameterError('--user is required with --format=file');
        const out = resolve(opts.out);
        await mayWrite([out], opts.overwrite);
        const keys = await generateKeyPair();
        const signed = await tctlClient(globals()).post<SignedCert>('/v1/admin/certs/user', {
          user: opts.user,
          public_key: keys.publicKeyPem,
          ttl_ms: ttlMs,
        });
        writeSecret(
          out,
          formatIdentityFile({
            privateKeyPem: keys.privateKeyPem,
            certPem: signed.cert,
            cas: { host: signed.cas.host ?? [], user: signed.cas.user ?? [] },
          }),
        );
        process.stdout.write(`The credentials have been written to ${out}\n`);
        return;
      }
      throw new BadParameterError(`unsupported --format "${opts.format}": use db or file`);
    });

  auth
    .command('export')
    .description('Print CA certificates (PEM)')
    .requiredOption('--type <type>', 'db-client, db, user or host')
    .action(async (opts: { type: string }) => {
      const { certs } = await tctlClient(globals(), { needIdentity: false }).get<{ certs: string[] }>(
        `/v1/webapi/auth/export?type=${encodeURIComponent(opts.type)}`,
      );
      process.stdout.write(certs.join(''));
    });
}

export function registerStatusCommand(program: Command, globals: () => TctlGlobals): void {
  program
    .command('status')
    .description('Cluster name, version and CA pin')
    .action(async () => {
      const ping = await tctlClient(globals(), { needIdentity: false }).get<AuthRpc.PingReply>('/v1/webapi/ping');
      process.stdout.write(`Cluster  ${ping.cluster_name}\nVersion  ${ping.server_version}\nCA pin   ${ping.ca_pins.join(',')}\n`);
    });
}
