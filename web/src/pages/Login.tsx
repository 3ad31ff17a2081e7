import { useState } from 'preact/hooks';
import { errorMessage } from '../api';
import { ErrorAlert, PageTitle } from '../components/common';
import { signIn, type WebSession } from '../session';

export function Login({ onSignedIn }: { onSignedIn(session: WebSession): void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [pending, setPending] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    setPending(true);
    try {
      onSignedIn(await signIn(user.trim(), password));
    } catch (err) {
      setError(errorMessage(err));
      setPassword('');
      setPending(false);
    }
  };

  return (
    <main id="main" class="login">
      <div class="login-card">
        <p class="login-brand" aria-hidden="true">
          dbaccess
        </p>
        <PageTitle title="Sign in" />
        <p class="muted">Identity-aware access to your PostgreSQL databases.</p>
        <form onSubmit={submit} class="form-stack">
          <div class="field">
            <label for="login-user">User name</label>
            <input
              id="login-user"
              name="user"
              type="text"
              autocomplete="username"
              autocapitalize="none"
              spellcheck={false}
              required
              value={user}
              onInput={(e) => setUser(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="login-password">Password</label>
            <input
              id="login-password"
              name="password"
              type="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </div>
          <ErrorAlert message={error} testId="login-error" />
          <button type="submit" class="button button-primary button-block" disabled={pending}>
            {pending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
