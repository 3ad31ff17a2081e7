import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { ApiError, get, request, setCsrfToken } from './api';

export interface WebSession {
  user: string;
  roles: string[];
  csrf_token: string;
  expires: string;
}

export interface Ping {
  cluster_name: string;
  server_version: string;
}

export interface SessionContextValue {
  session: WebSession;
  cluster: string;
  signOut(): Promise<void>;
}

export const SessionContext = createContext<SessionContextValue | null>(null);

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside a signed-in page');
  return value;
}

const PATH = '/v1/webapi/sessions/web';

/** The signed-in session, or null when there is none (the server answers 401 or 403). */
export async function currentSession(): Promise<WebSession | null> {
  try {
    const session = await get<WebSession>(PATH);
    setCsrfToken(session.csrf_token);
    return session;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return null;
    throw err;
  }
}

export async function signIn(user: string, password: string): Promise<WebSession> {
  const session = await request<WebSession>('POST', PATH, { user, password });
  setCsrfToken(session.csrf_token);
  return session;
}

export async function signOut(): Promise<void> {
  try {
    await request('DELETE', PATH);
  } catch (err) {
    // A session that has expired already is as good as signed out.
    if (!(err instanceof ApiError && (err.status === 401 || err.status === 403))) throw err;
  } finally {
    setCsrfToken('');
  }
}
