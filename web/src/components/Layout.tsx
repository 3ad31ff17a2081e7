import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { errorMessage } from '../api';
import { useSession } from '../session';

const NAV = [
  { href: '/web', label: 'Databases', current: (path: string) => path === '/web' },
  { href: '/web/activity', label: 'Activity', current: (path: string) => path === '/web/activity' },
  {
    href: '/web/recordings',
    label: 'Session recordings',
    current: (path: string) => path === '/web/recordings' || path.startsWith('/web/sessions/'),
  },
];

export function Layout({ path, children }: { path: string; children: ComponentChildren }) {
  const { session, cluster, signOut } = useSession();
  const [signingOut, setSigningOut] = useState(false);
  const [error, setError] = useState('');

  const onSignOut = async () => {
    setSigningOut(true);
    setError('');
    try {
      await signOut();
    } catch (err) {
      setError(`Sign out failed: ${errorMessage(err)}`);
      setSigningOut(false);
    }
  };

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <div class="brand">
          <a href="/web" class="brand-name">
            dbaccess
          </a>
          {cluster && (
            <span class="cluster" title="Cluster" data-testid="cluster-name">
              <span class="visually-hidden">Cluster: </span>
              {cluster}
            </span>
          )}
        </div>
        <nav aria-label="Main" class="nav">
          <ul>
            {NAV.map((item) => (
              <li key={item.href}>
                <a href={item.href} aria-current={item.current(path) ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="account">
          <span class="account-user" title={session.roles.length ? `Roles: ${session.roles.join(', ')}` : undefined}>
            <span class="visually-hidden">Signed in as </span>
            <span data-testid="signed-in-user">{session.user}</span>
          </span>
          <button type="button" class="button button-quiet" onClick={onSignOut} disabled={signingOut}>
            {signingOut ? 'Signing out…' : 'Sign out'}
          </button>
        </div>
      </header>
      {error && (
        <div class="alert alert-banner" role="alert">
          {error}
        </div>
      )}
      <main id="main" class="page" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
