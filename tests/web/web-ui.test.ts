// The web UI end to end in Debian's headless Chromium (playwright-core), against a real cluster with a
// real PostgreSQL: sign in and out, databases and their connect lines, the audit log, recordings and the
// player (a recorded session of 20 statements, seeking, a live session followed as psql runs), the
// Content-Security-Policy in force, and another user's session refused. Screenshots of every page go
// to $WEB_UI_SCREENSHOTS (npm run screenshots: docs/images/web-ui), else to the test's own directory.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { PostgresCluster } from '#libs/testing';
import { TestCluster } from '../support/cluster.js';
import { startClusterPostgres, startDbService, type DbServiceProcess } from '../support/data-plane.js';
import { httpsText } from '../support/https-get.js';
import { eventually, person, type Person } from '../support/provisioning.js';
import { pgClientEnv } from '../support/psql.js';

const CLUSTER = 'web-ui';
const CHROMIUM = '/usr/bin/chromium';

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;
let browser: Browser;
let alice: Person;
let base: string;
let shots: string;

beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: CLUSTER });
  base = `https://${cluster.proxyAddr}`;
  shots = process.env.WEB_UI_SCREENSHOTS ?? join(cluster.dir, 'screenshots');
  mkdirSync(shots, { recursive: true });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;\nCREATE USER bob;\n');
  service = await startDbService(cluster, {
    name: 'example',
    uri: `localhost:${postgres.port}`,
    labels: 'env=dev,team=payments',
    description: 'Orders',
  });
  alice = await person(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
  const login = await alice.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', 'example']);
  if (login.code !== 0) throw new Error(login.stderr);
  await cluster.createUser('carol', 'carol-password-123', ['--roles=auditor,access', '--db-users=carol']);
  await cluster.createUser('bob', 'bob-password-123', ['--roles=access', '--db-users=bob']);
  // Root may not use Chromium's sandbox.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
});

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, baseURL: base, viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  return context;
}

async function signIn(context: BrowserContext, user: string, next = '/web'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(next);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(`${user}-password-123`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-user').filter({ hasText: user }).waitFor();
  return page;
}

/** How many of the numbered statements the transcript shows. */
const statementsShown = (text: string | null) => (text ?? '').match(/=> SELECT \d+ AS step/g)?.length ?? 0;

/**
 * Every text on the page whose contrast with the background behind it is under WCAG AA (4.5:1, or 3:1
 * for large text), as `text (ratio)`. Runs in the page: colours as the browser computed them, the
 * background the first opaque one among the element and its ancestors.
 */
const LOW_CONTRAST = `(() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] === 1) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join(' ').trim();
    const style = getComputedStyle(el);
    if (!text || style.visibility === 'hidden' || el.getClientRects().length === 0 || el.closest('[inert], dialog:not([open])')) continue;
    const [a, b] = [lum(rgb(style.color).slice(0, 3)), lum(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) low.push(text.slice(0, 40) + ' (' + ratio.toFixed(2) + ')');
  }
  return low;
})()`;

/** A screenshot of the page, once its text is checked for contrast. */
async function shot(page: Page, name: string): Promise<void> {
  expect({ page: name, lowContrast: await page.evaluate(LOW_CONTRAST) }).toEqual({ page: name, lowContrast: [] });
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

/** psql through the proxy as alice, with what `tsh db login` saved; its standard input stays open. */
function psqlSession(): ChildProcessWithoutNullStreams {
  return spawn('psql', ['-X', '-q', `service=${CLUSTER}-example`], { env: pgClientEnv(alice.env), stdio: ['pipe', 'pipe', 'pipe'] });
}

function finish(child: ChildProcessWithoutNullStreams): Promise<number> {
  return new Promise((resolve) => {
    child.once('close', (code) => resolve(code ?? -1));
    child.stdin.end();
  });
}

/** The sessions of `user` as the audit index has them, newest first (read with the auditor's cookie). */
async function sessionsOf(page: Page, user: string): Promise<Array<{ sid: string; outcome: string; statements: number }>> {
  const res = await page.request.get(`/v1/webapi/sessions?user=${user}`);
  expect(res.status()).toBe(200);
  return (await res.json()).sessions;
}

it('signs in, lists the databases with their connect lines, refuses a wrong password, and signs out for good', async () => {
  const context = await newContext();
  const page = await context.newPage();
  await page.goto('/web');
  await page.waitForURL(/\/web\/login/);
  await page.getByLabel('User name').fill('alice');
  await page.getByLabel('Password').fill('not-her-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').textContent()).resolves.toMatch(/invalid username or password/);
  await shot(page, 'sign-in-error');

  // From the keyboard: Enter in the password field signs in.
  await page.getByLabel('Password').fill('alice-password-123');
  await page.getByLabel('Password').press('Enter');
  const row = page.getByTestId('db-example');
  await row.waitFor();
  await expect(row.textContent()).resolves.toMatch(/Orders/);
  await expect(row.textContent()).resolves.toMatch(/team: payments/);
  await shot(page, 'databases');
  // Search narrows the list; nothing matches a name that is not there.
  await page.getByLabel('Search').fill('nothing-like-this');
  await page.getByTestId('db-example').waitFor({ state: 'detached' });
  await expect(page.getByTestId('db-example').count()).resolves.toBe(0);
  await page.getByLabel('Search').fill('payments');
  await row.waitFor();

  await page.getByRole('button', { name: 'Connect to example' }).click();
  await expect(page.getByTestId('connect-psql').textContent()).resolves.toBe(`psql "service=${CLUSTER}-example"`);
  await expect(page.getByTestId('connect-tsh-db-connect').textContent()).resolves.toBe('tsh db connect example');
  await expect(page.getByTestId('connect-tsh-login').textContent()).resolves.toBe(`tsh login --proxy=${cluster.proxyAddr} --user=alice`);
  await shot(page, 'connect');
  await page.getByRole('button', { name: /^Copy: Or use psql directly/ }).click();
  await expect(page.evaluate('navigator.clipboard.readText()')).resolves.toBe(`psql "service=${CLUSTER}-example"`);
  await expect(page.getByTestId('copy-status').textContent()).resolves.toMatch(/Copied/);
  // Escape closes the dialog and gives focus back to the button that opened it.
  await page.keyboard.press('Escape');
  await page.getByTestId('connect-dialog').waitFor({ state: 'hidden' });
  await expect(page.evaluate('document.activeElement.getAttribute("aria-label")')).resolves.toBe('Connect to example');

  // The cookie is one scripts cannot read and other sites do not get.
  const [cookie] = await context.cookies();
  expect(cookie).toMatchObject({ name: '__Host-session', httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
  expect(await page.evaluate('document.cookie')).toBe('');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/web\/login/);
  const after = await httpsText(`${base}/v1/webapi/dbs`, { headers: { cookie: `${cookie!.name}=${cookie!.value}` } });
  expect(after.status).toBe(403);
  expect(JSON.parse(after.text).error.message).toBe('your web session has ended: sign in again');
  await context.close();
});

it('lets an auditor find a session in Activity and play it back, seeking to its middle; another user is refused', async () => {
  const psql = psqlSession();
  for (let i = 1; i <= 20; i++) psql.stdin.write(`SELECT ${i} AS step, pg_sleep(0.1);\n`);
  expect(await finish(psql)).toBe(0);

  const context = await newContext();
  const page = await signIn(context, 'carol', '/web/activity');
  const sid = await eventually(async () => {
    const done = (await sessionsOf(page, 'alice')).find((s) => s.outcome === 'ok' && s.statements === 20);
    if (!done) throw new Error('the index has no ended session of alice with 20 statements yet');
    return done.sid;
  }, 30_000);

  await page.getByLabel('User', { exact: true }).fill('alice');
  await page.getByLabel('Database', { exact: true }).fill('example');
  await page.getByLabel('Event type').selectOption('db.session.start');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  // Alice's one session start, once the filtered page replaced the first one.
  const start = page.getByTestId('event-row').filter({ has: page.locator(`a[href="/web/sessions/${sid}"]`) });
  await eventually(async () => expect(await start.count()).toBe(1));
  await shot(page, 'activity');
  await start.getByRole('button', { name: /^Details of db.session.start/ }).click();
  const json = JSON.parse((await page.getByTestId('event-json').textContent())!);
  expect(json).toMatchObject({ event: 'db.session.start', sid, user: 'alice', db_service: 'example' });
  await shot(page, 'activity-event');
  await page.keyboard.press('Escape');

  await start.locator(`a[href="/web/sessions/${sid}"]`).click();
  await page.waitForURL(`**/web/sessions/${sid}`);
  const transcript = page.getByTestId('transcript');
  await eventually(async () => expect(statementsShown(await transcript.textContent())).toBe(20));
  const text = (await transcript.textContent())!;
  expect([...text.matchAll(/=> SELECT (\d+) AS step/g)].map((m) => Number(m[1]))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  expect(text.match(/SUCCESS\n\(1 row affected\)/g)).toHaveLength(20);
  await shot(page, 'player');

  // Seeking to the middle shows the statements up to the one recorded there.
  const events = ((await (await page.request.get(`/v1/webapi/sessions/${sid}/events`)).text()).trim().split('\n') as string[]).map((l) =>
    JSON.parse(l),
  );
  const t0 = Date.parse(events[0].time);
  const timeline = page.getByTestId('timeline');
  const max = Number(await timeline.getAttribute('max'));
  expect(max).toBe(Date.parse(events.at(-1).time) - t0);
  const middle = Math.floor(max / 2 / 10) * 10;
  await timeline.fill(String(middle));
  const expected = events.filter((e) => e.event === 'db.session.query' && Date.parse(e.time) - t0 <= middle).length;
  expect(expected).toBeGreaterThan(5);
  expect(expected).toBeLessThan(15);
  await eventually(async () => expect(statementsShown(await transcript.textContent())).toBe(expected));
  expect(await transcript.textContent()).toMatch(new RegExp(`=> SELECT ${expected} AS step[^]*$`));
  await shot(page, 'player-seek');
  await context.close();

  // Bob may play only his own sessions: the page says why, the API answers 403.
  const bobs = await newContext();
  const bobPage = await signIn(bobs, 'bob', `/web/sessions/${sid}`);
  const alert = bobPage.getByRole('alert');
  await expect(alert.textContent()).resolves.toMatch(/access denied to session .*: user "bob" may play only their own sessions/);
  await shot(bobPage, 'player-denied');
  expect((await bobPage.request.get(`/v1/webapi/sessions/${sid}`)).status()).toBe(403);
  expect((await bobPage.request.get(`/v1/webapi/sessions/${sid}/events`)).status()).toBe(403);
  await bobs.close();
});

it('follows a live session in the player as psql runs', async () => {
  const context = await newContext();
  const page = await signIn(context, 'carol', '/web/recordings');
  const psql = psqlSession();
  psql.stdin.write("SELECT 'first live statement';\n");
  const sid = await eventually(async () => {
    const live = (await sessionsOf(page, 'alice')).find((s) => s.outcome === 'active');
    if (!live) throw new Error('the index has no live session of alice yet');
    return live.sid;
  }, 30_000);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  const link = page.locator(`a[href="/web/sessions/${sid}"]`);
  await link.waitFor();
  await expect(page.getByTestId('recording-row').filter({ has: link }).textContent()).resolves.toMatch(/live/);
  await shot(page, 'recordings');
  await link.click();
  const transcript = page.getByTestId('transcript');
  await page.getByTestId('live').waitFor();
  await eventually(async () => expect(await transcript.textContent()).toMatch(/=> SELECT 'first live statement'/));
  psql.stdin.write("SELECT 'second live statement';\n");
  await eventually(async () => expect(await transcript.textContent()).toMatch(/=> SELECT 'second live statement'/));
  await shot(page, 'player-live');
  expect(await finish(psql)).toBe(0);
  await eventually(async () => expect(await transcript.textContent()).toMatch(/Session ended at/));
  await eventually(async () => expect(await page.getByTestId('live').textContent()).toMatch(/Ended/));
  await context.close();
});

it('runs no inline script: the policy blocks one injected into the page and reports it', async () => {
  const context = await newContext();
  const page = await signIn(context, 'carol');
  const response = await page.goto('/web/activity');
  expect(response!.headers()['content-security-policy']).toMatch(/script-src 'self';/);
  // In the page: an inline script added to the document, and the violation the browser reports.
  const outcome = await page.evaluate(`new Promise((resolve) => {
    document.addEventListener('securitypolicyviolation', (e) => resolve({ ran: window.injected === true, blocked: e.violatedDirective }));
    const script = document.createElement('script');
    script.textContent = 'window.injected = true';
    document.body.append(script);
  })`);
  expect(outcome).toEqual({ ran: false, blocked: 'script-src-elem' });
  // The UI's own script runs: the page renders (waited for: count() alone raced the render on a busy machine).
  await page.getByRole('heading', { name: 'Activity' }).waitFor();
  await context.close();
});

it('pages the audit log newest first, and tells a user who asks for others what they lack', async () => {
  // Another session of alice's: 60 statements, 120 events more than the page of 100 holds.
  const psql = psqlSession();
  for (let i = 1; i <= 60; i++) psql.stdin.write(`SELECT ${i} AS paged;\n`);
  expect(await finish(psql)).toBe(0);

  const context = await newContext();
  const page = await signIn(context, 'carol', '/web/activity');
  await page.getByLabel('User', { exact: true }).fill('alice');
  await eventually(async () => {
    await page.getByRole('button', { name: 'Apply filters' }).click();
    expect(await page.getByTestId('activity-status').textContent()).toMatch(/^100 events loaded/);
  }, 30_000);
  const times = async () =>
    await page
      .getByTestId('event-row')
      .locator('time')
      .evaluateAll((els) => els.map((e) => e.getAttribute('datetime')));
  await page.getByRole('button', { name: 'Load more' }).click();
  await eventually(async () => expect((await times()).length).toBeGreaterThan(100));
  const loaded = (await times()) as string[];
  expect(loaded).toEqual([...loaded].sort().reverse());
  await context.close();

  // Bob may list only his own events: asking for alice's says why.
  const bobs = await newContext();
  const bob = await signIn(bobs, 'bob', '/web/activity');
  await bob.getByLabel('User', { exact: true }).fill('alice');
  await bob.getByRole('button', { name: 'Apply filters' }).click();
  await eventually(async () =>
    expect(await bob.getByRole('alert').textContent()).toMatch(
      /user "bob" may list only their own sessions; listing those of "alice" needs a role/,
    ),
  );
  await bobs.close();
});
