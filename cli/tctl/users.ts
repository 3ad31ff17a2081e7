import type { Command } from 'commander';
import { BadParameterError } from '#libs/common';
import type { AuthRpc } from '#libs/events';
import { list } from '../shared/run.js';
import { parseFormat, print, table } from '../shared/output.js';
import { tctlClient, type TctlGlobals } from './credentials.js';

type Link = AuthRpc.PasswordLinkReply & { url: string };

function traitsFrom(opts: { dbUsers?: string; dbNames?: string; dbRoles?: string }, logins?: string): Record<string, string[]> {
  const traits: Record<string, string[]> = {};
  if (opts.dbUsers !== undefined) traits.db_users = list(opts.dbUsers);
  if (opts.dbNames !== undefined) traits.db_names = list(opts.dbNames);
  if (opts.dbRoles !== undefined) traits.db_roles = list(opts.dbRoles);
  if (logins) traits.logins = list(logins);
  return traits;
}

function linkNote(link: Link): string {
  return `\nNOTE: Make sure ${new URL(link.url).host} points at a Teleport proxy which users can access.\n`;
}

export function registerUserCommands(program: Command, globals: () => TctlGlobals): void {
  const users = program.command('users').description('Manage local users');

  users
    .command('add')
    .description('Create a user; prints a signup link valid for 1 hour')
    .argument('<name>')
    .argument('[logins]', 'legacy form: comma-separated logins, kept as the logins trait')
    .option('--roles <roles>', 'comma-separated roles, e.g. access,editor')
    .option('--db-users <users>', 'database users the user may connect as ("*" for any)')
    .option('--db-names <names>', 'database names the user may connect to ("*" for any)')
    .option('--db-roles <roles>', 'database roles for automatic user provisioning')
    .action(
      async (name: string, logins: string | undefined, opts: { roles?: string; dbUsers?: string; dbNames?: string; dbRoles?: string }) => {
        // Teleport's legacy `users add alice root` form gave the access role implicitly.
        const roles = list(opts.roles ?? (logins !== undefined ? 'access' : undefined));
        if (!roles.length) throw new BadParameterError('at least one role is required: --roles=access (see tctl get roles)');
        const link = await tctlClient(globals()).post<Link>('/v1/admin/users', { name, roles, traits: traitsFrom(opts, logins) });
        process.stdout.write(
          `User "${name}" has been created but requires a password. Share this URL with the user to complete user setup, link is valid for 1h:\n${link.url}\n${linkNote(link)}`,
        );
      },
    );

  users
    .command('ls')
    .description('List users')
    .option('--format <format>', 'text, json or yaml', 'text')
    .action(async (opts: { format: string }) => {
      const all = await tctlClient(globals()).get<AuthRpc.UserView[]>('/v1/admin/users');
      print(parseFormat(opts.format), all, () =>
        table(
          ['User', 'Roles'],
          all.map((u) => [u.name, u.roles.join(',')]),
        ),
      );
    });

  users
    .command('rm')
    .description('Delete users')
    .argument('<names>', 'comma-separated user names')
    .action(async (names: string) => {
      const api = tctlClient(globals());
      for (const name of list(names)) {
        await api.delete(`/v1/admin/users/${encodeURIComponent(name)}`);
        process.stdout.write(`User "${name}" has been deleted\n`);
      }
    });

  users
    .command('reset')
    .description("Reset a user's password; prints a link valid for 8 hours (also unlocks a locked account once used)")
    .argument('<name>')
    .action(async (name: string) => {
      const link = await tctlClient(globals()).post<Link>(`/v1/admin/users/${encodeURIComponent(name)}/reset`, {});
      process.stdout.write(
        `User "${name}" has been reset. Share this URL with the user to complete password reset, link is valid for 8h:\n${link.url}\n${linkNote(link)}`,
      );
    });

  users
    .command('update')
    .description("Change a user's roles or database traits")
    .argument('<name>')
    .option('--set-roles <roles>', 'replace the roles')
    .option('--set-db-users <users>', 'replace the allowed database users')
    .option('--set-db-names <names>', 'replace the allowed database names')
    .option('--set-db-roles <roles>', 'replace the database roles')
    .action(async (name: string, opts: { setRoles?: string; setDbUsers?: string; setDbNames?: string; setDbRoles?: string }) => {
      const api = tctlClient(globals());
      const path = `/v1/admin/users/${encodeURIComponent(name)}`;
      const current = await api.get<AuthRpc.UserView>(path);
      const changed = traitsFrom({ dbUsers: opts.setDbUsers, dbNames: opts.setDbNames, dbRoles: opts.setDbRoles });
      const traits = { ...current.traits, ...changed };
      const roles = opts.setRoles !== undefined ? list(opts.setRoles) : undefined;
      if (!roles && !Object.keys(changed).length)
        throw new BadParameterError('nothing to update: use --set-roles, --set-db-users, --set-db-names or --set-db-roles');
      const updated = await api.patch<AuthRpc.UserView>(path, { ...(roles ? { roles } : {}), traits });
      const lines = [`User ${name} has been updated:`];
      if (roles) lines.push(`\tNew roles: ${updated.roles.join(',')}`);
      if (opts.setDbUsers !== undefined) lines.push(`\tNew database users: ${(updated.traits.db_users ?? []).join(',')}`);
      if (opts.setDbNames !== undefined) lines.push(`\tNew database names: ${(updated.traits.db_names ?? []).join(',')}`);
      if (opts.setDbRoles !== undefined) lines.push(`\tNew database roles: ${(updated.traits.db_roles ?? []).join(',')}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
