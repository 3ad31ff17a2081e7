import { OutcomeBadge } from '../components/OutcomeBadge';
import { ErrorAlert, PageTitle, Status, Time } from '../components/common';
import { duration, shortId } from '../format';
import { LoadMore, SearchForm, useSearch } from '../search';
import type { SessionSummary } from '../sessions';

export function Recordings() {
  const search = useSearch<SessionSummary>('/v1/webapi/sessions', (page) => page.sessions as SessionSummary[]);
  const { items: sessions, cursor, loading, loaded, error } = search;

  return (
    <>
      <PageTitle title="Session recordings" />
      <p class="lede">Recorded database sessions, newest first. Open one to play it back; a live session plays as it happens.</p>
      <SearchForm search={search} id="rec" label="Session filters" />
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
      <LoadMore search={search} />
    </>
  );
}
