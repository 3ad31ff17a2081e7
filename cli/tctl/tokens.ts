import type { Command } from 'commander';
import { BadParameterError, formatDuration, parseDuration } from '#libs/common';
import type { AuthRpc } from '#libs/events';
import { parseFormat, print, table } from '../shared/output.js';
import { tctlClient, type TctlGlobals } from './credentials.js';

const TOKEN_TYPES: Record<string, string> = { db: 'Db', proxy: 'Proxy', provisioning: 'Provisioning' };

export function registerTokenCommands(program: Command, globals: () => TctlGlobals): void {
  const tokens = program.command('tokens').description('Manage join tokens');

  tokens
    .command('add')
    .description('Create a join token')
    .requiredOption('--type <type>', 'what may join with it: db, proxy, provisioning (comma-separated)')
    .option('--ttl <duration>', 'how long the token is valid', '30m')
    .option('--value <token>', 'use this value instead of a random one')
    .option('--format <format>', 'text prints the token alone; json, yaml')
    .action(async (opts: { type: string; ttl: string; value?: string; format?: string }) => {
      const roles = opts.type.split(',').map((t) => TOKEN_TYPES[t.trim().toLowerCase()]);
      if (roles.some((r) => !r)) throw new BadParameterError(`unsupported --type "${opts.type}": use db, proxy or provisioning`);
      const ttlMs = parseDuration(opts.ttl);
      const api = tctlClient(globals());
      const token = await api.post<AuthRpc.TokenView>('/v1/admin/tokens', {
        roles,
        ttl_ms: ttlMs,
        ...(opts.value ? { token: opts.value } : {}),
      });
      if (opts.format) return print(parseFormat(opts.format), token, () => token.token);
      const command = roles.includes('Db')
        ? `> teleport db start \\\n   --token=${token.token} \\\n   --proxy=${api.addr} \\\n   --name=<database name> \\\n   --protocol=postgres \\\n   --uri=<host>:<port>\n\n`
        : `> teleport start \\\n   --roles=${roles.includes('Proxy') ? 'proxy' : 'provisioning'} \\\n   --token=${token.token} \\\n   --auth-server=${api.addr}\n\n`;
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
