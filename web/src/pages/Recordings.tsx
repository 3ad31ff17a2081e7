import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage, get, isAbort, query } from '../api';
import { OutcomeBadge } from '../components/OutcomeBadge';
import { ErrorAlert, PageTitle, Status, Time } from '../components/common';
import { duration, fromLocalInput, shortId, toLocalInput } from '../format';
import type { SessionsPage, SessionSummary } from '../sessions';

const LIMIT = 100;

interface Filters {
  from: string;
  to: string;
  user: string;
  db: string;
}

const initialFilters = (): Filters => ({ from: toLocalInput(Date.now() - 24 * 3_600_000), to: '', user: '', db: '' });

export function Recordings() {
  const [draft, setDraft] = useState<Filters>(initialFilters);
  const [applied, setApplied] = useState<Filters>(draft);
  const [sessions, setSessions] = useState<SessionSummary[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState('');
  const request = useRef<AbortController | undefined>(undefined);

  const load = async (filters: Filters, after: string | undefined) => {
    request.current?.abort();
    const aborted = (request.current = new AbortController());
    setLoading(true);
    setError('');
    try {
      const page = await get<SessionsPage>(
        `/v1/webapi/sessions${query({
          from: fromLocalInput(filters.from),
          to: fromLocalInput(filters.to),
          user: filters.user.trim(),
          db: filters.db.trim(),
          limit: LIMIT,
          cursor: after,
        })}`,
        aborted.signal,
      );
      setSessions((previous) => (after ? [...previous, ...page.sessions] : page.sessions));
      setCursor(page.next_cursor || undefined);
      setLoaded(true);
    } catch (err) {
      if (isAbort(err)) return;
      if (!after) {
        setSessions([]);
        setCursor(undefined);
      }
      setError(err instanceof ApiError && err.status === 403 ? `Access denied: ${err.message}` : errorMessage(err));
    }
    if (request.current === aborted) setLoading(false);
  };

  useEffect(() => {
    void load(applied, undefined);
    return () => request.current?.abort();
  }, [applied]);

  const apply = (e: Event) => {
    e.preventDefault();
    const from = fromLocalInput(draft.from);
    const to = fromLocalInput(draft.to);
    if (from && to && from > to) {
      setError('"From" must be before "To".');
      return;
    }
    setApplied({ ...draft });
  };

  const set = (key: keyof Filters) => (e: { currentTarget: HTMLInputElement }) => setDraft((d) => ({ ...d, [key]: e.currentTarget.value }));

  return (
    <>
      <PageTitle title="Session recordings" />
      <p class="lede">Recorded database sessions, newest first. Open one to play it back; a live session plays as it happens.</p>
      <form class="toolbar filters" onSubmit={apply} aria-label="Session filters">
        <div class="field">
          <label for="rec-from">From</label>
          <input id="rec-from" type="datetime-local" value={draft.from} onInput={set('from')} />
        </div>
        <div class="field">
          <label for="rec-to">To</label>
          <input id="rec-to" type="datetime-local" value={draft.to} onInput={set('to')} aria-describedby="rec-to-hint" />
          <span id="rec-to-hint" class="hint">
            Empty: now
          </span>
        </div>
        <div class="field">
          <label for="rec-user">User</label>
          <input id="rec-user" type="text" autocomplete="off" value={draft.user} onInput={set('user')} />
        </div>
        <div class="field">
          <label for="rec-db">Database</label>
          <input id="rec-db" type="text" autocomplete="off" value={draft.db} onInput={set('db')} />
        </div>
        <div class="field field-action">
          <button type="submit" class="button button-primary">
            Apply filters
          </button>
        </div>
      </form>
      <ErrorAlert message={error} testId="recordings-error" />
      <Status testId="recordings-status">
        {loading
          ? 'Loading sessions…'
          : !loaded || (error && !sessions.length)
            ? ''
            : !sessions.length
              ? 'No recorded sessions match these filters.'
              : `${sessions.length} session${sessions.length === 1 ? '' : 's'}${cursor ? '; more are available' : ''}`}
      </Status>
      {sessions.length > 0 && (
        <div class="table-wrap">
          <table class="table table-compact" data-testid="recordings">
            <caption class="visually-hidden">Recorded sessions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">User</th>
                <th scope="col">Database</th>
                <th scope="col">DB user</th>
                <th scope="col">DB name</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
                <th scope="col" class="num">
                  Statements
                </th>
                <th scope="col" class="num">
                  Errors
                </th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => (
                <tr key={s.sid} data-testid="recording-row">
                  <td>
                    <a href={`/web/sessions/${encodeURIComponent(s.sid)}`} class="mono" title={s.sid} aria-label={`Play session ${s.sid}`}>
                      {shortId(s.sid)}
                    </a>
                  </td>
                  <td>{s.user}</td>
                  <td>{s.db_service}</td>
                  <td>{s.db_user}</td>
                  <td>{s.db_name}</td>
                  <td class="nowrap">
                    <Time iso={s.start} />
                  </td>
                  <td class="nowrap">{s.outcome === 'active' ? '—' : duration(s.duration_ms)}</td>
                  <td class="num">{s.statements}</td>
                  <td class="num">{s.errors}</td>
                  <td title={s.message}>
                    <OutcomeBadge session={s} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor && (
        <div class="more">
          <button type="button" class="button" disabled={loading} onClick={() => load(applied, cursor)}>
            {loading ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </>
  );
}
