import type { Command } from 'commander';
import { BadParameterError, formatDuration, parseDuration } from '#libs/common';
import type { AuthRpc } from '#libs/events';
import { parseFormat, print, table } from '../shared/output.js';
import { tctlClient, type TctlGlobals } from './credentials.js';

const TOKEN_TYPES: Record<string, string> = { db: 'Db', proxy: 'Proxy', provisioning: 'Provisioning' };

interface TokenAddFlags {
  type: string;
  ttl: string;
  value?: string;
  format?: string;
  dbName?: string;
  dbProtocol?: string;
  dbUri?: string;
}

/** A command as tctl prints it to copy: one flag per line, continued with backslashes. */
function commandLines(command: string, flags: string[]): string {
  return `> ${[command, ...flags].join(' \\\n   ')}\n\n`;
}

export function registerTokenCommands(program: Command, globals: () => TctlGlobals): void {
  const tokens = program.command('tokens').description('Manage join tokens');

  tokens
    .command('add')
    .description('Create a join token')
    .requiredOption('--type <type>', 'what may join with it: db, proxy, provisioning (comma-separated)')
    .option('--ttl <duration>', 'how long the token is valid', '30m')
    .option('--value <token>', 'use this value instead of a random one')
    .option('--format <format>', 'text prints the token alone; json, yaml')
    .option('--db-name <name>', 'with --type=db: the database the printed command serves')
    .option('--db-protocol <protocol>', 'with --type=db: its protocol (postgres)')
    .option('--db-uri <host:port>', 'with --type=db: where it listens')
    .action(async (opts: TokenAddFlags) => {
      const roles = opts.type.split(',').map((t) => TOKEN_TYPES[t.trim().toLowerCase()]);
      if (roles.some((r) => !r)) throw new BadParameterError(`unsupported --type "${opts.type}": use db, proxy or provisioning`);
      if ((opts.dbName || opts.dbProtocol || opts.dbUri) && !roles.includes('Db'))
        throw new BadParameterError('--db-name, --db-protocol and --db-uri go with --type=db');
      if (opts.dbProtocol && opts.dbProtocol !== 'postgres')
        throw new BadParameterError(`unsupported --db-protocol "${opts.dbProtocol}": this cluster serves postgres`);
      const ttlMs = parseDuration(opts.ttl);
      const api = tctlClient(globals());
      const token = await api.post<AuthRpc.TokenView>('/v1/admin/tokens', {
        roles,
        ttl_ms: ttlMs,
        ...(opts.value ? { token: opts.value } : {}),
      });
      if (opts.format) return print(parseFormat(opts.format), token, () => token.token);
      const command = roles.includes('Db')
        ? commandLines('teleport db start', [
            `--token=${token.token}`,
            `--proxy=${api.addr}`,
            `--name=${opts.dbName ?? '<database name>'}`,
            `--protocol=${opts.dbProtocol ?? 'postgres'}`,
            `--uri=${opts.dbUri ?? '<host>:<port>'}`,
          ])
        : commandLines('teleport start', [
            `--roles=${roles.includes('Proxy') ? 'proxy' : 'provisioning'}`,
            `--token=${token.token}`,
            `--auth-server=${api.addr}`,
          ]);
      process.stdout.write(
        `The invite token: ${token.token}\nThis token will expire in ${formatDuration(ttlMs)}.\n\n` +
          `Run this on the new node to join the cluster:\n\n` +
          command +
          `Please note:\n\n  - This invitation token will expire in ${formatDuration(ttlMs)}\n  - ${api.addr} must be reachable from the new node\n`,
      );
    });

  tokens
    .command('ls')
    .description('List join tokens')
    .option('--format <format>', 'text, json or yaml', 'text')
    .action(async (opts: { format: string }) => {
      const all = await tctlClient(globals()).get<AuthRpc.TokenView[]>('/v1/admin/tokens');
      print(parseFormat(opts.format), all, () =>
        table(
          ['Token', 'Type', 'Expiry Time (UTC)'],
          all.map((t) => [t.token, t.roles.join(','), t.expires]),
        ),
      );
    });

  tokens
    .command('rm')
    .description('Delete a join token')
    .argument('<token>')
    .action(async (token: string) => {
      await tctlClient(globals()).delete(`/v1/admin/tokens/${encodeURIComponent(token)}`);
      process.stdout.write(`Token ${token} has been deleted\n`);
    });
}
