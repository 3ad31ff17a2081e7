import { useEffect, useMemo, useState } from 'preact/hooks';
import { errorMessage, get, isAbort } from '../api';
import { Modal } from '../components/Modal';
import { ErrorAlert, PageTitle, Status } from '../components/common';
import { useSession } from '../session';
import type { DbView } from '../../../libs/client/src/db-api.js';

/** A database as `GET /v1/webapi/dbs` shows it (`tsh db ls` prints the same). */
export type Database = DbView;

const labelPairs = (db: Database): string[] => Object.entries(db.labels ?? {}).map(([k, v]) => `${k}=${v}`);

function matches(db: Database, search: string): boolean {
  if (!search) return true;
  const haystack = [db.name, db.description, ...Object.entries(db.labels ?? {}).flatMap(([k, v]) => [k, v, `${k}=${v}`, `${k}: ${v}`])];
  return haystack.some((s) => s.toLowerCase().includes(search));
}

export function Databases() {
  const [dbs, setDbs] = useState<Database[] | undefined>();
  const [error, setError] = useState('');
  const [search, setSearch] = useState('');
  const [label, setLabel] = useState('');
  const [connecting, setConnecting] = useState<Database | undefined>();

  useEffect(() => {
    const aborted = new AbortController();
    get<Database[]>('/v1/webapi/dbs', aborted.signal)
      .then((list) => setDbs([...list].sort((a, b) => a.name.localeCompare(b.name))))
      .catch((err) => isAbort(err) || setError(errorMessage(err)));
    return () => aborted.abort();
  }, []);

  const labels = useMemo(() => [...new Set((dbs ?? []).flatMap(labelPairs))].sort(), [dbs]);
  const needle = search.trim().toLowerCase();
  const shown = (dbs ?? []).filter((db) => matches(db, needle) && (!label || labelPairs(db).includes(label)));

  return (
    <>
      <PageTitle title="Databases" />
      <p class="lede">The databases your roles let you connect to. Connect with tsh and psql; each session is recorded.</p>
      <div class="toolbar" role="search">
        <div class="field">
          <label for="db-search">Search</label>
          <input
            id="db-search"
            type="search"
            placeholder="Name, description or label"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="db-label">Label</label>
          <select id="db-label" value={label} onChange={(e) => setLabel(e.currentTarget.value)}>
            <option value="">All labels</option>
            {labels.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorAlert message={error} />
      <Status testId="databases-status">
        {dbs === undefined
          ? error
            ? ''
            : 'Loading databases…'
          : dbs.length === 0
            ? 'No databases are available to you.'
            : shown.length === dbs.length
              ? `${dbs.length} database${dbs.length === 1 ? '' : 's'}`
              : `${shown.length} of ${dbs.length} databases match`}
      </Status>
      {dbs !== undefined && dbs.length > 0 && (
        <div class="table-wrap">
          <table class="table" data-testid="databases">
            <caption class="visually-hidden">Databases</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Description</th>
                <th scope="col">Type</th>
                <th scope="col">Labels</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((db) => (
                <tr key={db.name} data-testid={`db-${db.name}`}>
                  <th scope="row" class="cell-name">
                    {db.name}
                  </th>
                  <td>{db.description}</td>
                  <td>
                    <span class="nowrap">{db.type}</span>
                    {db.protocol && <span class="muted small block">{db.protocol}</span>}
                  </td>
                  <td>
                    <ul class="chips">
                      {Object.entries(db.labels ?? {}).map(([k, v]) => (
                        <li key={k} class="chip">
                          {k}: {v}
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td class="cell-actions">
                    <button type="button" class="button" aria-label={`Connect to ${db.name}`} onClick={() => setConnecting(db)}>
                      Connect
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {connecting && <ConnectDialog db={connecting} onClose={() => setConnecting(undefined)} />}
    </>
  );
}

/** The database user `tsh db login` should name: the caller's own with auto-provisioning, else one the roles allow. */
export function dbUserFor(db: Database, user: string): string {
  if (db.auto_user) return user;
  return db.allowed_users.find((u) => u && u !== '*') ?? 'postgres';
}

export function dbNameFor(db: Database): string {
  return db.allowed_names.find((n) => n && n !== '*') ?? 'postgres';
}

function ConnectDialog({ db, onClose }: { db: Database; onClose(): void }) {
  const { session, cluster } = useSession();
  const [copied, setCopied] = useState('');
  const steps = [
    { id: 'connect-tsh-login', label: 'Sign in to the cluster', command: `tsh login --proxy=${location.host} --user=${session.user}` },
    {
      id: 'connect-tsh-db-login',
      label: 'Get a certificate for the database',
      command: `tsh db login --db-user=${dbUserFor(db, session.user)} --db-name=${dbNameFor(db)} ${db.name}`,
    },
    { id: 'connect-tsh-db-connect', label: 'Connect with psql through tsh', command: `tsh db connect ${db.name}` },
    {
      id: 'connect-psql',
      label: 'Or use psql directly, with the service tsh db login wrote',
      command: `psql "service=${cluster}-${db.name}"`,
    },
  ];

  const copy = async (label: string, command: string) => {
    try {
      await navigator.clipboard.writeText(command);
      setCopied(`Copied: ${label}`);
    } catch {
      setCopied('Could not copy: select the command and copy it yourself.');
    }
  };

  return (
    <Modal title={`Connect to ${db.name}`} onClose={onClose} testId="connect-dialog">
      <ol class="steps">
        {steps.map((step) => (
          <li key={step.id}>
            <p class="step-label" id={`${step.id}-label`}>
              {step.label}
            </p>
            <div class="command">
              <pre data-testid={step.id} aria-labelledby={`${step.id}-label`}>
                <code>{step.command}</code>
              </pre>
              <button
                type="button"
                class="button button-small"
                aria-label={`Copy: ${step.label}`}
                onClick={() => copy(step.label, step.command)}
              >
                Copy
              </button>
            </div>
          </li>
        ))}
      </ol>
      {db.allowed_users.length > 1 && !db.auto_user && (
        <p class="muted small">Your roles also allow these database users: {db.allowed_users.filter((u) => u !== '*').join(', ')}.</p>
      )}
      <p class="status" aria-live="polite" data-testid="copy-status">
        {copied}
      </p>
    </Modal>
  );
}
