import type { Command } from 'commander';
import { BadParameterError, formatDuration } from '#libs/common';
import type { AuditRpc } from '#libs/events';
import { parseFormat, print, table } from '../shared/output.js';
import { activeIdentity, apiFor, requireFresh, type TshGlobals } from './identity.js';

const PAGE = 200;

function utc(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** The `tsh recordings ls` table, newest first. */
export function recordingsTable(sessions: AuditRpc.SessionSummary[]): string {
  return table(
    ['ID', 'User', 'Database', 'DB User', 'DB Name', 'Started', 'Duration', 'Statements', 'Outcome'],
    sessions.map((s) => [
      s.sid,
      s.user,
      s.db_service,
      s.db_user,
      s.db_name,
      utc(s.start),
      s.duration_ms !== undefined ? formatDuration(s.duration_ms) : s.outcome === 'active' ? 'active' : '-',
      String(s.statements),
      s.errors && s.outcome === 'ok' ? `ok (${s.errors} error${s.errors === 1 ? '' : 's'})` : s.outcome,
    ]),
  );
}

function when(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new BadParameterError(`${flag} must be a date or a time, like 2026-11-21 or 2026-11-21T10:00:00Z; got "${value}"`);
  return new Date(ms).toISOString();
}

export function registerRecordingsCommands(program: Command, globals: () => TshGlobals): void {
  const recordings = program.command('recordings').description('Recorded database sessions');
  recordings
    .command('ls')
    .description('List recorded sessions, newest first (yours only, unless your roles allow reading all)')
    .option('--from <time>', 'sessions started at or after this date or time (UTC unless it says otherwise)')
    .option('--to <time>', 'sessions started before this date or time')
    .option('--user <name>', "only this user's sessions")
    .option('--db <name>', 'only sessions to this database')
    .option('--limit <n>', 'at most this many sessions', '50')
    .option('--format <format>', 'text, json or yaml', 'text')
    .action(async (opts: { from?: string; to?: string; user?: string; db?: string; limit: string; format?: string }) => {
      const format = parseFormat(opts.format);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new BadParameterError(`--limit must be a positive number, got "${opts.limit}"`);
      const g = globals();
      const active = activeIdentity(g);
      requireFresh(active);
      const api = apiFor(active, g);
      // tsh's own --user (the login name) takes the flag wherever it is written; here it can only mean the filter.
      const filters = { from: when(opts.from, '--from'), to: when(opts.to, '--to'), user: opts.user ?? g.user, db: opts.db };
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(filters)) if (value !== undefined) query.set(key, value);
      const sessions: AuditRpc.SessionSummary[] = [];
      let cursor: string | undefined;
      do {
        query.set('limit', String(Math.min(PAGE, limit - sessions.length)));
        if (cursor) query.set('cursor', cursor);
        const page = await api.get<AuditRpc.SessionsPage>(`/v1/webapi/sessions?${query}`);
        sessions.push(...page.sessions);
        cursor = page.next_cursor;
      } while (cursor && sessions.length < limit);
      print(format, sessions, () => (sessions.length ? recordingsTable(sessions) : 'No recorded sessions found.\n'));
      if (cursor && format === 'text') process.stderr.write(`Showing the newest ${limit}: use --limit, --from or --to for others.\n`);
    });
}
