// The web UI's sessions against a real cluster, at the HTTP level: signing in sets a cookie that is
// HttpOnly, Secure, SameSite=Strict and bound to the host; the cookie reaches only the endpoints the UI
// needs; a cross-site request or a change without the CSRF token is refused; signing out, deleting the
// user or locking them ends the session; every response carries a Content-Security-Policy.
import { TestCluster } from '../support/cluster.js';
import { httpsText, type TextResponse } from '../support/https-get.js';

let cluster: TestCluster;
const PASSWORD = 'web-password-123';

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'web-cluster' });
  await cluster.createUser('alice', PASSWORD, ['--roles=access']);
  await cluster.createUser('carol', PASSWORD, ['--roles=auditor']);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

function call(path: string, opts: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<TextResponse> {
  const headers = { ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers };
  return httpsText(`https://${cluster.proxyAddr}${path}`, {
    method: opts.method ?? 'GET',
    headers,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
}

/** Signs in and returns the cookie to send back and the CSRF token. */
async function signIn(user: string): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await call('/v1/webapi/sessions/web', { method: 'POST', body: { user, password: PASSWORD } });
  expect(res.status).toBe(200);
  const setCookie = String(res.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0]!, csrf: JSON.parse(res.text).csrf_token, setCookie };
}

const message = (res: TextResponse) => JSON.parse(res.text).error.message as string;

it('signs in with the password and sets a cookie only this host gets back, over HTTPS, invisible to scripts', async () => {
  const { setCookie, cookie } = await signIn('alice');
  expect(cookie).toMatch(/^__Host-session=[0-9a-f]{64}$/);
  expect(setCookie).toMatch(/; Path=\//);
  expect(setCookie).toMatch(/; Secure/);
  expect(setCookie).toMatch(/; HttpOnly/);
  expect(setCookie).toMatch(/; SameSite=Strict/);
  const maxAge = Number(/Max-Age=(\d+)/.exec(setCookie)![1]);
  expect(maxAge).toBeGreaterThan(11 * 3600);
  expect(maxAge).toBeLessThanOrEqual(12 * 3600);
  const me = await call('/v1/webapi/sessions/web', { headers: { cookie } });
  expect(me.status).toBe(200);
  expect(JSON.parse(me.text)).toMatchObject({ user: 'alice', roles: ['access'], csrf_token: expect.any(String) });
});

it('refuses a wrong password as tsh login does, with no cookie', async () => {
  const res = await call('/v1/webapi/sessions/web', { method: 'POST', body: { user: 'alice', password: 'wrong-password-1' } });
  expect(res.status).toBe(403);
  expect(message(res)).toBe('invalid username or password');
  expect(res.headers['set-cookie']).toBeUndefined();
  const nobody = await call('/v1/webapi/sessions/web', { method: 'POST', body: { user: 'nobody', password: PASSWORD } });
  expect(message(nobody)).toBe('invalid username or password');
});

it('lets the cookie reach what the web UI shows, and nothing that issues certificates or administers', async () => {
  const alice = await signIn('alice');
  expect((await call('/v1/webapi/dbs', { headers: { cookie: alice.cookie } })).status).toBe(200);
  expect((await call('/v1/webapi/sessions', { headers: { cookie: alice.cookie } })).status).toBe(200);
  const carol = await signIn('carol');
  const events = await call('/v1/webapi/events?limit=5', { headers: { cookie: carol.cookie } });
  expect(events.status).toBe(200);
  // Admin endpoints and certificate issuing take client certificates alone, even with the CSRF token.
  for (const [method, path] of [
    ['GET', '/v1/admin/users'],
    ['POST', '/v1/webapi/certs/db'],
  ] as const) {
    const res = await call(path, {
      method,
      headers: { cookie: carol.cookie, 'x-csrf-token': carol.csrf },
      ...(method === 'POST' ? { body: {} } : {}),
    });
    expect(res.status).toBe(403);
    expect(message(res)).toMatch(/this needs credentials: run 'tsh login'/);
  }
});

it('refuses cross-site requests that carry the cookie, and changes without the CSRF token', async () => {
  const { cookie, csrf } = await signIn('alice');
  const crossSite = await call('/v1/webapi/dbs', { headers: { cookie, 'sec-fetch-site': 'cross-site' } });
  expect(crossSite.status).toBe(403);
  expect(message(crossSite)).toMatch(/cross-site request refused/);
  const otherOrigin = await call('/v1/webapi/sessions', { headers: { cookie, origin: 'https://evil.example' } });
  expect(otherOrigin.status).toBe(403);
  expect(message(otherOrigin)).toMatch(/cross-site request refused \(Origin: https:\/\/evil.example\)/);
  const signInFromElsewhere = await call('/v1/webapi/sessions/web', {
    method: 'POST',
    headers: { origin: 'https://evil.example' },
    body: { user: 'alice', password: PASSWORD },
  });
  expect(signInFromElsewhere.status).toBe(403);
  // A change (signing out) needs the session's token in X-CSRF-Token.
  for (const headers of [{ cookie }, { cookie, 'x-csrf-token': 'x'.repeat(csrf.length) }] as Array<Record<string, string>>) {
    const res = await call('/v1/webapi/sessions/web', { method: 'DELETE', headers });
    expect(res.status).toBe(403);
    expect(message(res)).toMatch(/needs the x-csrf-token header/);
  }
  expect((await call('/v1/webapi/sessions/web', { headers: { cookie } })).status).toBe(200);
});

it('ends the session on sign-out: the cookie no longer works', async () => {
  const { cookie, csrf } = await signIn('alice');
  const out = await call('/v1/webapi/sessions/web', { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
  expect(out.status).toBe(200);
  expect(String(out.headers['set-cookie'])).toMatch(/^__Host-session=; Path=\/; Max-Age=0/);
  const after = await call('/v1/webapi/dbs', { headers: { cookie } });
  expect(after.status).toBe(403);
  expect(message(after)).toBe('your web session has ended: sign in again');
});

it('ends the sessions of a user who is locked, then of one who is deleted', async () => {
  await cluster.createUser('dave', PASSWORD, ['--roles=access']);
  const { cookie } = await signIn('dave');
  const lock = await cluster.tctl(['lock', '--user=dave', '--message=under review', '--ttl=1h']);
  expect(lock.code).toBe(0);
  const locked = await call('/v1/webapi/dbs', { headers: { cookie } });
  expect(locked.status).toBe(403);
  expect(message(locked)).toMatch(/under review/);
  const signInLocked = await call('/v1/webapi/sessions/web', { method: 'POST', body: { user: 'dave', password: PASSWORD } });
  expect(signInLocked.status).toBe(403);
  expect(message(signInLocked)).toMatch(/under review/);

  const carol = await signIn('carol');
  expect((await cluster.tctl(['users', 'rm', 'carol'])).code).toBe(0);
  const gone = await call('/v1/webapi/sessions', { headers: { cookie: carol.cookie } });
  expect(gone.status).toBe(403);
  expect(message(gone)).toBe('your web session has ended: sign in again');
});

it('serves the UI at /web with a strict Content-Security-Policy, and a policy on every API answer', async () => {
  for (const path of ['/web', '/web/login', '/web/sessions/0b5e4a3c-0000-4000-8000-000000000000']) {
    const page = await call(path);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<script type="module" src="\/web\/assets\/app.js"><\/script>/);
    expect(page.text).not.toMatch(/<script>|<script [^>]*>[^<]/);
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(page.headers['x-frame-options']).toBe('DENY');
  }
  const script = await call('/web/assets/app.js');
  expect(script.status).toBe(200);
  expect(script.headers['content-type']).toMatch(/^text\/javascript/);
  expect((await call('/web/assets/..%2f..%2fpackage.json')).status).toBe(404);
  const api = await call('/v1/webapi/ping');
  expect(api.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  expect(api.headers['x-content-type-options']).toBe('nosniff');
  const root = await call('/');
  expect(root.status).toBe(302);
  expect(root.headers.location).toBe('/web');
});
