import type { SessionSummary } from '../sessions';

/** ok / live / denied / failed, with the error count when a session that ran had errors. */
export function OutcomeBadge({ session }: { session: Pick<SessionSummary, 'outcome' | 'errors'> }) {
  const { outcome, errors } = session;
  if (outcome === 'active') {
    return <span class="badge badge-live">live</span>;
  }
  const tone = outcome === 'ok' ? (errors ? 'badge-warn' : 'badge-ok') : 'badge-bad';
  return (
    <span class={`badge ${tone}`}>
      {outcome}
      {outcome === 'ok' && errors ? ` (${errors} error${errors === 1 ? '' : 's'})` : ''}
    </span>
  );
}
