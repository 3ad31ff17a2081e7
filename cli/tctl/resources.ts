import type { Command } from 'commander';
import { parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import { BadParameterError, NotFoundError } from '#libs/common';
import { parseDbResource, type DbResource } from '#libs/config';
import type { AuthRpc } from '#libs/events';
import { formatLockTarget, lockToYaml, parseLock, parseRole, roleToYaml, type Lock, type Role } from '#libs/rbac';
import type { ApiClient } from '#libs/client';
import { readInput } from '../shared/files.js';
import { parseFormat, print, table } from '../shared/output.js';
import { tctlClient, type TctlGlobals } from './credentials.js';

type UserView = AuthRpc.UserView;

type Kind = 'role' | 'db' | 'lock';
interface Resource {
  kind: Kind;
  name: string;
  body: unknown;
}

const KIND_ALIASES: Record<string, Kind | 'user' | 'token'> = {
  role: 'role',
  roles: 'role',
  db: 'db',
  dbs: 'db',
  database: 'db',
  databases: 'db',
  user: 'user',
  users: 'user',
  token: 'token',
  tokens: 'token',
  lock: 'lock',
  locks: 'lock',
};
const PATHS: Record<Kind | 'user' | 'token', string> = {
  role: '/v1/admin/roles',
  db: '/v1/admin/dbs',
  lock: '/v1/admin/locks',
  user: '/v1/admin/users',
  token: '/v1/admin/tokens',
};

/** Parses and validates every document first: a bad one anywhere means nothing is applied. */
export function parseResources(text: string, source: string): Resource[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new BadParameterError(`${source}: no resources found`);
  const resources: Resource[] = [];
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `${source} (document ${i + 1})` : source;
    if (doc.errors.length) {
      const err = doc.errors[0]!;
      throw new BadParameterError(
        `${where}: malformed YAML at line ${err.linePos?.[0].line ?? '?'}: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:$/, '')}`,
      );
    }
    const value = doc.toJS() as { kind?: unknown } | null;
    if (value === null || value === undefined) return;
    if (typeof value !== 'object') throw new BadParameterError(`${where}: expected a resource with kind, version, metadata and spec`);
    switch (value.kind) {
      case 'role': {
        const role = parseRole(value);
        resources.push({ kind: 'role', name: role.metadata.name, body: role });
        break;
      }
      case 'db': {
        const db = parseDbResource(value);
        resources.push({ kind: 'db', name: db.metadata.name, body: db });
        break;
      }
      case 'lock': {
        const lock = parseLock(value);
        resources.push({ kind: 'lock', name: lock.metadata.name, body: lock });
        break;
      }
      default:
        throw new BadParameterError(
          `${where}: unsupported resource kind ${JSON.stringify(value.kind ?? null)}: tctl create accepts role, db and lock`,
        );
    }
  });
  if (!resources.length) throw new BadParameterError(`${source}: no resources found`);
  return resources;
}

async function exists(api: ApiClient, r: Resource): Promise<boolean> {
  try {
    await api.get(`${PATHS[r.kind]}/${encodeURIComponent(r.name)}`);
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

function parseRef(ref: string): { kind: Kind | 'user' | 'token'; name?: string } {
  const [kindText, ...rest] = ref.split('/');
  const kind = KIND_ALIASES[kindText ?? ''];
  if (!kind) throw new BadParameterError(`unsupported resource "${kindText}": use role, db, lock, user or token (e.g. role/NAME)`);
  return rest.length ? { kind, name: rest.join('/') } : { kind };
}

function toYaml(kind: Kind | 'user' | 'token', item: unknown): string {
  if (kind === 'role') return roleToYaml(item as Role);
  if (kind === 'lock') return lockToYaml(item as Lock);
  if (kind === 'user') {
    const u = item as UserView;
    return stringifyYaml({
      kind: 'user',
      version: 'v2',
      metadata: { name: u.name },
      spec: { roles: u.roles, traits: u.traits, created_by: u.created_by },
    });
  }
  return stringifyYaml(item);
}

function textTable(kind: Kind | 'user' | 'token', items: unknown[]): string {
  switch (kind) {
    case 'role':
      return table(
        ['Role', 'Description'],
        (items as Role[]).map((r) => [r.metadata.name, r.metadata.description ?? '']),
      );
    case 'db':
      return table(
        ['Name', 'Protocol', 'URI', 'Labels'],
        (items as DbResource[]).map((d) => [d.metadata.name, d.spec.protocol, d.spec.uri, formatLabels(d.metadata.labels)]),
      );
    case 'user':
      return table(
        ['User', 'Roles'],
        (items as UserView[]).map((u) => [u.name, u.roles.join(',')]),
      );
    case 'token':
      return table(
        ['Token', 'Type', 'Expiry Time (UTC)'],
        (items as AuthRpc.TokenView[]).map((t) => [t.token, t.roles.join(','), t.expires]),
      );
    case 'lock':
      return table(
        ['ID', 'Target', 'Message', 'Expires'],
        (items as Lock[]).map((l) => [
          l.metadata.name,
          formatLockTarget(l.spec.target),
          l.spec.message ?? '',
          l.spec.expires ? humanTime(l.spec.expires) : 'never',
        ]),
      );
  }
}

/** Teleport's human time format, `Mon Jan _2 15:04 UTC`. */
function humanTime(iso: string): string {
  const d = new Date(iso);
  const [weekday, month] = [d.toUTCString().slice(0, 3), d.toUTCString().slice(8, 11)];
  const hm = d.toISOString().slice(11, 16);
  return `${weekday} ${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${hm} UTC`;
}

export function formatLabels(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function registerResourceCommands(program: Command, globals: () => TctlGlobals): void {
  program
    .command('create')
    .description('Create or update resources (role, db, lock) from a YAML file or standard input')
    .argument('[filename]', 'YAML file, or - / nothing for standard input')
    .option('-f, --force', 'overwrite resources that already exist')
    .action(async (filename: string | undefined, opts: { force?: boolean }) => {
      const resources = parseResources(readInput(filename), filename ?? 'standard input');
      const api = tctlClient(globals());
      if (!opts.force) {
        for (const r of resources) {
          if (await exists(api, r))
            throw new BadParameterError(`${r.kind} "${r.name}" already exists; use 'tctl create -f' to overwrite it`);
        }
      }
      for (const r of resources) {
        const { created } = await api.put<{ created: boolean }>(`${PATHS[r.kind]}?create=${!opts.force}`, r.body);
        process.stdout.write(`${r.kind} "${r.name}" has been ${created ? 'created' : 'updated'}\n`);
      }
    });

  program
    .command('get')
    .description('Print resources: roles, role/NAME, db, db/NAME, locks, lock/NAME, users, user/NAME, tokens')
    .argument('<resource>')
    .option('--format <format>', 'yaml, json or text', 'yaml')
    .action(async (ref: string, opts: { format: string }) => {
      const format = parseFormat(opts.format, ['yaml', 'json', 'text']);
      const { kind, name } = parseRef(ref);
      const api = tctlClient(globals());
      const path = PATHS[kind];
      const items = name ? [await api.get<unknown>(`${path}/${encodeURIComponent(name)}`)] : await api.get<unknown[]>(path);
      if (format === 'json') return print('json', name ? items[0] : items, () => '');
      if (format === 'text') return print('text', items, () => textTable(kind, items));
      process.stdout.write(items.map((item) => toYaml(kind, item)).join('---\n'));
    });

  program
    .command('rm')
    .description('Delete a resource: role/NAME, db/NAME, lock/NAME, user/NAME, token/TOKEN')
    .argument('<resource>')
    .action(async (ref: string) => {
      const { kind, name } = parseRef(ref);
      if (!name) throw new BadParameterError(`name the ${kind} to delete: ${kind}/NAME`);
      const path = PATHS[kind];
      await tctlClient(globals()).delete(`${path}/${encodeURIComponent(name)}`);
      process.stdout.write(kind === 'token' ? 'Token has been deleted\n' : `${kind} "${name}" has been deleted\n`);
    });
}
