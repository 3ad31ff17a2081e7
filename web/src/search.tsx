// What Activity and Session recordings share: filters for a time range, a user and a database (more
// where a page adds them), applied on submit, and a paged list loaded from the audit API, newest first.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage, get, isAbort, query } from './api';
import { fromLocalInput, toLocalInput } from './format';

export const PAGE_SIZE = 100;

export interface Filters {
  from: string;
  to: string;
  user: string;
  db: string;
  [more: string]: string;
}

/** The last 24 hours, anyone, any database. */
export const defaultFilters = (): Filters => ({ from: toLocalInput(Date.now() - 24 * 3_600_000), to: '', user: '', db: '' });

interface Search<T> {
  draft: Filters;
  /** An input's change handler for filter `key`. */
  set: (key: string) => (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) => void;
  apply: (e: Event) => void;
  items: T[];
  /** More are available: `loadMore` reads them. */
  cursor?: string;
  loadMore: () => void;
  loading: boolean;
  loaded: boolean;
  error: string;
}

/**
 * `path` (e.g. /v1/webapi/events) with the applied filters, `PAGE_SIZE` at a time; `itemsOf` picks the
 * list out of a page. A 403 says what the caller's roles lack, as the server words it.
 */
export function useSearch<T>(
  path: string,
  itemsOf: (page: Record<string, unknown>) => T[],
  initial: Filters = defaultFilters(),
): Search<T> {
  const [draft, setDraft] = useState<Filters>(initial);
  const [applied, setApplied] = useState<Filters>(initial);
  const [items, setItems] = useState<T[]>([]);
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
    const { from, to, user, db, ...more } = filters;
    try {
      const page = await get<Record<string, unknown> & { next_cursor?: string }>(
        path +
          query({
            from: fromLocalInput(from),
            to: fromLocalInput(to),
            user: user.trim(),
            db: db.trim(),
            ...more,
            limit: PAGE_SIZE,
            cursor: after,
          }),
        aborted.signal,
      );
      setItems((previous) => (after ? [...previous, ...itemsOf(page)] : itemsOf(page)));
      setCursor(page.next_cursor || undefined);
      setLoaded(true);
    } catch (err) {
      if (isAbort(err)) return;
      if (!after) {
        setItems([]);
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

  return {
    draft,
    set: (key) => (e) => setDraft((d) => ({ ...d, [key]: e.currentTarget.value })),
    apply: (e) => {
      e.preventDefault();
      const from = fromLocalInput(draft.from);
      const to = fromLocalInput(draft.to);
      if (from && to && from > to) {
        setError('"From" must be before "To".');
        return;
      }
      setApplied({ ...draft });
    },
    items,
    ...(cursor ? { cursor } : {}),
    loadMore: () => void load(applied, cursor),
    loading,
    loaded,
    error,
  };
}

/** The filter form: time range, user, database, the page's own fields (`children`), and Apply. */
export function SearchForm({
  search,
  id,
  label,
  children,
}: {
  search: Search<unknown>;
  id: string;
  label: string;
  children?: ComponentChildren;
}) {
  const { draft, set, apply } = search;
  return (
    <form class="toolbar filters" onSubmit={apply} aria-label={label}>
      <div class="field">
        <label for={`${id}-from`}>From</label>
        <input id={`${id}-from`} type="datetime-local" value={draft.from} onInput={set('from')} />
      </div>
      <div class="field">
        <label for={`${id}-to`}>To</label>
        <input id={`${id}-to`} type="datetime-local" value={draft.to} onInput={set('to')} aria-describedby={`${id}-to-hint`} />
        <span id={`${id}-to-hint`} class="hint">
          Empty: now
        </span>
      </div>
      <div class="field">
        <label for={`${id}-user`}>User</label>
        <input id={`${id}-user`} type="text" autocomplete="off" value={draft.user} onInput={set('user')} />
      </div>
      <div class="field">
        <label for={`${id}-db`}>Database</label>
        <input id={`${id}-db`} type="text" autocomplete="off" value={draft.db} onInput={set('db')} />
      </div>
      {children}
      <div class="field field-action">
        <button type="submit" class="button button-primary">
          Apply filters
        </button>
      </div>
    </form>
  );
}

export function LoadMore({ search }: { search: Search<unknown> }) {
  if (!search.cursor) return null;
  return (
    <div class="more">
      <button type="button" class="button" disabled={search.loading} onClick={search.loadMore}>
        {search.loading ? 'Loading…' : 'Load more'}
      </button>
    </div>
  );
}
