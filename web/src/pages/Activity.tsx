import { useMemo, useState } from 'preact/hooks';
import type { AuditEvent } from '../api';
import { Modal } from '../components/Modal';
import { ErrorAlert, PageTitle, Status, Time } from '../components/common';
import { shortId, text, truncate } from '../format';
import { defaultFilters, LoadMore, SearchForm, useSearch } from '../search';

const STATEMENTS = ['parse', 'bind', 'execute', 'close'].map((s) => `db.session.postgres.statements.${s}`).join(',');

/** The event types offered before any are seen; the value is what `type=` gets. */
const COMMON_TYPES: Array<{ value: string; label: string }> = [
  { value: 'db.session.start', label: 'db.session.start' },
  { value: 'db.session.query', label: 'db.session.query' },
  { value: 'db.session.end', label: 'db.session.end' },
  { value: STATEMENTS, label: 'db.session.postgres.statements.*' },
  { value: 'user.login', label: 'user.login' },
];

function summary(e: AuditEvent): string {
  return text(e.db_query) || text(e.message) || text(e.error);
}

const failed = (e: AuditEvent): boolean => e.success === false || /W$|E$/.test(text(e.code));

export function Activity() {
  const search = useSearch<AuditEvent>('/v1/webapi/events', (page) => page.events as AuditEvent[], { ...defaultFilters(), type: '' });
  const { items: events, cursor, loading, error, draft, set } = search;
  const [textFilter, setTextFilter] = useState('');
  const [selected, setSelected] = useState<AuditEvent | undefined>();
  const seenTypes = useMemo(() => [...new Set(events.map((e) => text(e.event)).filter(Boolean))].sort(), [events]);

  const needle = textFilter.trim().toLowerCase();
  const shown = useMemo(() => (needle ? events.filter((e) => JSON.stringify(e).toLowerCase().includes(needle)) : events), [events, needle]);
  const typeOptions = [
    ...COMMON_TYPES,
    ...seenTypes.filter((t) => !COMMON_TYPES.some((c) => c.value === t)).map((t) => ({ value: t, label: t })),
  ];

  return (
    <>
      <PageTitle title="Activity" />
      <p class="lede">The audit log: sign-ins, database sessions and their statements, newest first.</p>
      <SearchForm search={search} id="activity" label="Event filters">
        <div class="field">
          <label for="activity-type">Event type</label>
          <select id="activity-type" value={draft.type} onChange={set('type')}>
            <option value="">All types</option>
            {typeOptions.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </div>
      </SearchForm>
      <div class="toolbar">
        <div class="field field-grow">
          <label for="activity-text">Search text</label>
          <input
            id="activity-text"
            type="search"
            placeholder="Any text in the event"
            value={textFilter}
            onInput={(e) => setTextFilter(e.currentTarget.value)}
            aria-describedby="activity-text-hint"
          />
          <span id="activity-text-hint" class="hint">
            Filters the loaded events
          </span>
        </div>
      </div>
      <ErrorAlert message={error} testId="activity-error" />
      <Status testId="activity-status">
        {loading
          ? 'Loading events…'
          : error && !events.length
            ? ''
            : !events.length
              ? 'No events match these filters.'
              : needle
                ? `${shown.length} of ${events.length} loaded events match "${textFilter.trim()}"`
                : `${events.length} event${events.length === 1 ? '' : 's'} loaded${cursor ? '; more are available' : ''}`}
      </Status>
      {shown.length > 0 && (
        <div class="table-wrap">
          <table class="table table-compact" data-testid="events">
            <caption class="visually-hidden">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Type</th>
                <th scope="col">Code</th>
                <th scope="col">User</th>
                <th scope="col">Database</th>
                <th scope="col">Summary</th>
                <th scope="col">Session</th>
                <th scope="col">
                  <span class="visually-hidden">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((e, i) => {
                const sid = text(e.sid);
                const line = summary(e);
                return (
                  <tr
                    key={text(e.uid) || i}
                    class={failed(e) ? 'row-clickable row-failed' : 'row-clickable'}
                    data-testid="event-row"
                    onClick={(click) => {
                      // The row is a larger target for the mouse; the Details button is the keyboard's.
                      if (!(click.target instanceof Element && click.target.closest('a, button'))) setSelected(e);
                    }}
                  >
                    <td class="nowrap">
                      <Time iso={e.time} />
                    </td>
                    <td class="mono nowrap">{text(e.event)}</td>
                    <td class="mono">{text(e.code)}</td>
                    <td>{text(e.user)}</td>
                    <td>{text(e.db_service)}</td>
                    <td class="cell-summary" title={line.length > 120 ? line : undefined}>
                      {line && <span class={e.db_query ? 'mono' : undefined}>{truncate(line, 120)}</span>}
                    </td>
                    <td>
                      {sid && (
                        <a href={`/web/sessions/${encodeURIComponent(sid)}`} class="mono" title={`Play session ${sid}`}>
                          {shortId(sid)}
                        </a>
                      )}
                    </td>
                    <td class="cell-actions">
                      <button
                        type="button"
                        class="button button-small button-quiet"
                        aria-label={`Details of ${text(e.event)} event at ${text(e.time)}`}
                        onClick={() => setSelected(e)}
                      >
                        Details
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore search={search} />
      {selected && (
        <Modal title={`Event ${text(selected.event)}`} onClose={() => setSelected(undefined)} wide testId="event-dialog">
          {text(selected.sid) && (
            <p>
              <a href={`/web/sessions/${encodeURIComponent(text(selected.sid))}`}>Play session {text(selected.sid)}</a>
            </p>
          )}
          <pre class="json" data-testid="event-json" tabIndex={0} aria-label="Event JSON">
            <code>{JSON.stringify(selected, null, 2)}</code>
          </pre>
        </Modal>
      )}
    </>
  );
}
