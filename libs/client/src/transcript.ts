// How `tsh play` and the web UI's player show a Postgres session: the prompt and statement, then SUCCESS
// and the row count or the error, as Teleport's player prints them. Recorded result rows (beyond
// Teleport) are shown between the two, as psql would. No Node API here: the web UI bundles this file.

type Event = Record<string, unknown>;

/** With skip-idle, a pause longer than this plays as this long. */
export const IDLE_CAP_MS = 1_000;

/** How long to wait before showing an event that came `gapMs` after the previous one. */
export function playbackDelay(gapMs: number, speed: number, skipIdle: boolean): number {
  const gap = Math.max(0, gapMs);
  return (skipIdle ? Math.min(gap, IDLE_CAP_MS) : gap) / speed;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Teleport's human time: "Mon Jan _2 15:04 UTC". */
export function humanTime(iso: unknown): string {
  const d = new Date(typeof iso === 'string' ? iso : 0);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** A psql-style table of recorded rows. */
export function rowsTable(columns: string[], rows: Array<Array<string | null>>, nl: string): string {
  const cells = rows.map((row) => columns.map((_, i) => row[i] ?? ''));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => [...r[i]!].length)));
  const line = (values: string[]) =>
    ' ' +
    values
      .map((v, i) => v + ' '.repeat(widths[i]! - [...v].length))
      .join(' | ')
      .trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w + 2)).join('+'), ...cells.map(line)].join(nl) + nl;
}

/** Turns a session's events, in order, into what a terminal shows. */
export class Transcript {
  private readonly statements = new Map<string, string>();
  private readonly portals = new Map<string, { statement: string; parameters: string[] }>();
  private expectingResult = false;

  constructor(private readonly nl: '\n' | '\r\n') {}

  /** The text one event adds, or undefined when it shows nothing. */
  print(e: Event): string | undefined {
    const nl = this.nl;
    switch (e.event) {
      case 'db.session.start':
        if (e.success === false)
          return `Session to database ${JSON.stringify(text(e.db_service))} refused at ${humanTime(e.time)}: ${text(e.message) || text(e.error)}${nl}`;
        return `Session started to database ${JSON.stringify(text(e.db_service))} at ${humanTime(e.time)}${nl}`;
      case 'db.session.end':
        return `${nl}Session ended at ${humanTime(e.time)}${nl}`;
      case 'db.session.query':
        this.expectingResult = true;
        return this.command(text(e.db_name), text(e.db_query));
      case 'db.session.result':
        if (!this.expectingResult) return undefined;
        this.expectingResult = false;
        return this.result(e);
      case 'db.session.postgres.statements.parse':
        this.expectingResult = false;
        this.statements.set(text(e.statement_name), text(e.query));
        return undefined;
      case 'db.session.postgres.statements.bind':
        this.expectingResult = false;
        this.portals.set(text(e.portal_name), {
          statement: text(e.statement_name),
          parameters: Array.isArray(e.parameters) ? e.parameters.map(String) : [],
        });
        return undefined;
      case 'db.session.postgres.statements.execute':
        return this.execute(text(e.db_name), text(e.portal_name));
      case 'db.session.postgres.function':
        // Only an OID is known: nothing a reader could follow.
        this.expectingResult = false;
        return undefined;
      default:
        return undefined;
    }
  }

  private command(dbName: string, sql: string): string {
    const lead = `${dbName}=> `;
    const [first = '', ...rest] = sql.split('\n');
    const lines = [lead + first.trim(), ...rest.map((l) => ' '.repeat(lead.length) + l.trim())];
    return this.nl + lines.join(this.nl) + this.nl;
  }

  private execute(dbName: string, portal: string): string | undefined {
    const bind = this.portals.get(portal);
    // An execution without a known binding cannot be shown faithfully.
    if (!bind) {
      this.expectingResult = false;
      return undefined;
    }
    const statement = this.statements.get(bind.statement) ?? `EXECUTE ${bind.statement}`;
    const params = bind.parameters.length ? ` (${bind.parameters.map((p, i) => `$${i + 1} = ${JSON.stringify(p)}`).join(', ')})` : '';
    this.expectingResult = true;
    return this.command(dbName, statement + params);
  }

  private result(e: Event): string {
    const nl = this.nl;
    if (e.success === false) return `${text(e.error)}${nl}`;
    const count = typeof e.affected_records === 'number' ? e.affected_records : 0;
    const columns = Array.isArray(e.result_columns) ? (e.result_columns as string[]) : undefined;
    const rows = Array.isArray(e.result_rows) ? (e.result_rows as Array<Array<string | null>>) : [];
    const table = columns
      ? rowsTable(columns, rows, nl) + (e.result_rows_truncated ? `(first ${rows.length} rows recorded)${nl}` : '')
      : '';
    return `SUCCESS${nl}${table}(${count} row${count === 1 ? '' : 's'} affected)${nl}`;
  }
}
