import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { errorMessage, get, setUnauthorizedHandler } from './api';
import { Layout } from './components/Layout';
import { ErrorAlert, PageTitle } from './components/common';
import { Activity } from './pages/Activity';
import { Databases } from './pages/Databases';
import { Login } from './pages/Login';
import { Player } from './pages/Player';
import { Recordings } from './pages/Recordings';
import { interceptLinks, navigate, safeNext, useLocation } from './router';
import { currentSession, SessionContext, signOut, type Ping, type SessionContextValue, type WebSession } from './session';

type Auth = { state: 'loading' } | { state: 'error'; message: string } | { state: 'out' } | { state: 'in'; session: WebSession };

const LOGIN = '/web/login';
const SESSION_PAGE = /^\/web\/sessions\/([^/]+)$/;

function Page({ path }: { path: string }) {
  if (path === '/web') return <Databases />;
  if (path === '/web/activity') return <Activity />;
  if (path === '/web/recordings') return <Recordings />;
  const session = SESSION_PAGE.exec(path);
  if (session) return <Player key={session[1]} sid={decodeURIComponent(session[1]!)} />;
  return (
    <>
      <PageTitle title="Page not found" />
      <p>
        There is no page at <code>{path}</code>. <a href="/web">Go to the databases</a>.
      </p>
    </>
  );
}

function App() {
  const { path, search } = useLocation();
  const [auth, setAuth] = useState<Auth>({ state: 'loading' });
  const [cluster, setCluster] = useState('');

  const check = () => {
    setAuth({ state: 'loading' });
    currentSession()
      .then((session) => setAuth(session ? { state: 'in', session } : { state: 'out' }))
      .catch((err) => setAuth({ state: 'error', message: `Cannot check your session: ${errorMessage(err)}` }));
  };

  useEffect(() => {
    check();
    setUnauthorizedHandler(() => setAuth({ state: 'out' }));
    return () => setUnauthorizedHandler(undefined);
  }, []);

  const signedIn = auth.state === 'in';
  useEffect(() => {
    if (!signedIn || cluster) return;
    get<Ping>('/v1/webapi/ping')
      .then((ping) => setCluster(ping.cluster_name))
      .catch(() => undefined);
  }, [signedIn]);

  // Pages need a session and the sign-in page needs none: send each to the other, remembering the way back.
  useEffect(() => {
    if (auth.state === 'out' && path !== LOGIN) {
      const back = path + search;
      navigate(back === '/web' ? LOGIN : `${LOGIN}?next=${encodeURIComponent(back)}`, { replace: true });
    } else if (auth.state === 'in' && path === LOGIN) {
      navigate(safeNext(new URLSearchParams(search).get('next')), { replace: true });
    }
  }, [auth.state, path, search]);

  // A session the server will refuse from now on: better the sign-in page than a page of errors.
  const expires = auth.state === 'in' ? Date.parse(auth.session.expires) : NaN;
  useEffect(() => {
    if (Number.isNaN(expires)) return;
    const timer = setTimeout(() => setAuth({ state: 'out' }), Math.min(Math.max(0, expires - Date.now()), 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [expires]);

  const context = useMemo<SessionContextValue | null>(
    () =>
      auth.state === 'in'
        ? {
            session: auth.session,
            cluster,
            signOut: async () => {
              await signOut();
              setAuth({ state: 'out' });
              navigate(LOGIN);
            },
          }
        : null,
    [auth, cluster],
  );

  if (auth.state === 'loading') {
    return (
      <main id="main" class="page page-center">
        <p class="status" aria-live="polite">
          Loading…
        </p>
      </main>
    );
  }
  if (auth.state === 'error') {
    return (
      <main id="main" class="page page-center">
        <PageTitle title="dbaccess" />
        <ErrorAlert message={auth.message} />
        <button type="button" class="button" onClick={check}>
          Try again
        </button>
      </main>
    );
  }
  if (auth.state === 'out' || !context) return <Login onSignedIn={(session) => setAuth({ state: 'in', session })} />;
  if (path === LOGIN) return null;
  return (
    <SessionContext.Provider value={context}>
      <Layout path={path}>
        <Page path={path} />
      </Layout>
    </SessionContext.Provider>
  );
}

interceptLinks();
render(<App />, document.getElementById('app')!);
