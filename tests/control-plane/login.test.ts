import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestCluster, type RunResult } from '../support/cluster.js';
import { httpsGetText } from '../support/https-get.js';
import { linkToken } from '../support/links.js';

// A user's life from the signup link to tsh logout: password rules, certificate lifetimes, the lock
// after repeated failures and the reset link that lifts it.

const PASSWORD = 'alice-first-password';
const NEW_PASSWORD = 'alice-second-password';
const EXPIRED_OR_USED = 'this link has expired or was already used; ask an administrator for a new one (tctl users reset <user>)';
const INVALID = 'ERROR: invalid username or password\n';
const HOUR = 3_600_000;

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ clusterName: 'login-cluster' });
});
afterAll(() => cluster?.stop());

function login(user: string, password: string, extra: string[] = []): Promise<RunResult> {
  return cluster.tsh(['login', '--insecure', `--proxy=${cluster.proxyAddr}`, `--user=${user}`, ...extra], { input: password + '\n' });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The block tsh login and tsh status print, with the validity left as a pattern. */
function statusPattern(lines: { user: string; roles: string; dbUsers?: string; dbNames?: string; validFor: string }): RegExp {
  return new RegExp(
    '^' +
      escape(`> Profile URL:        https://${cluster.proxyAddr}\n`) +
      escape(`  Logged in as:       ${lines.user}\n`) +
      escape(`  Cluster:            login-cluster\n`) +
      escape(`  Roles:              ${lines.roles}\n`) +
      (lines.dbUsers ? escape(`  Database users:     ${lines.dbUsers}\n`) : '') +
      (lines.dbNames ? escape(`  Database names:     ${lines.dbNames}\n`) : '') +
      `  Valid until:        (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d) \\+0000 UTC \\[valid for ${lines.validFor}\\]\\n$`,
  );
}

/** Expiry printed by tsh, checked against the expected lifetime (one minute of slack for the test's own time). */
function expectExpiry(stdout: string, pattern: RegExp, lifetimeMs: number, issuedAt: number): void {
  const match = pattern.exec(stdout);
  if (!match) throw new Error(`tsh output does not match ${pattern}:\n${stdout}`);
  const expires = Date.parse(match[1]!.replace(' ', 'T') + 'Z');
  expect(expires).toBeGreaterThanOrEqual(issuedAt + lifetimeMs - 60_000);
  expect(expires).toBeLessThanOrEqual(Date.now() + lifetimeMs + 1_000);
}

const TWELVE_HOURS = /(11h\d+m(\d+s)?|12h)/.source;
const ONE_HOUR = /(59m(\d+s)?|1h)/.source;
const LOCKED =
  /^ERROR: user "alice" is locked after 5 failed login attempts; try again after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z or ask an administrator to run 'tctl users reset alice'\n$/;

const ALICE = { user: 'alice', roles: 'access', dbUsers: 'alice, postgres', dbNames: '*' };

describe('the signup link', () => {
  let token: string;
  beforeAll(async () => {
    const added = await cluster.tctl(['users', 'add', 'alice', '--roles=access', '--db-users=alice,postgres', '--db-names=*']);
    expect(added.code).toBe(0);
    expect(added.stderr).toBe('');
    token = linkToken(added.stdout);
  });

  it('opens an HTML page with a password form', async () => {
    const page = await httpsGetText(`https://${cluster.proxyAddr}/web/invite/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).toMatch(/^<!doctype html>/);
    expect(page.text).toContain('<form id="form">');
    expect(page.text).toContain('<input id="password" type="password" autocomplete="new-password" minlength="12" required>');
  });

  it('names the user it belongs to', async () => {
    const before = Date.now();
    const res = await cluster.api('GET', `/v1/webapi/users/password/token/${token}`);
    expect(res).toEqual({ status: 200, json: { user: 'alice', kind: 'invite', expires: expect.any(String) } });
    // A signup link lasts one hour.
    expect(Date.parse(res.json.expires) - before).toBeGreaterThan(HOUR - 60_000);
    expect(Date.parse(res.json.expires) - before).toBeLessThanOrEqual(HOUR);
  });

  it('refuses a password shorter than 12 characters and stays usable', async () => {
    expect(await cluster.api('PUT', '/v1/webapi/users/password/token', { token, password: 'elevenchars' })).toEqual({
      status: 400,
      json: { error: { code: 'bad_parameter', message: 'password must be at least 12 characters long' } },
    });
    expect((await cluster.api('GET', `/v1/webapi/users/password/token/${token}`)).status).toBe(200);
  });

  it('sets the password once; a second use is refused as expired or used', async () => {
    expect(await cluster.api('PUT', '/v1/webapi/users/password/token', { token, password: PASSWORD })).toEqual({
      status: 200,
      json: { user: 'alice' },
    });
    const spent = { status: 404, json: { error: { code: 'not_found', message: EXPIRED_OR_USED } } };
    expect(await cluster.api('PUT', '/v1/webapi/users/password/token', { token, password: NEW_PASSWORD })).toEqual(spent);
    expect(await cluster.api('GET', `/v1/webapi/users/password/token/${token}`)).toEqual(spent);
    // The refused second use did not change the password.
    const ok = await login('alice', PASSWORD);
    expect(ok.code).toBe(0);
  });

  it('refuses a token that was never issued', async () => {
    expect(await cluster.api('GET', `/v1/webapi/users/password/token/${'0'.repeat(32)}`)).toEqual({
      status: 404,
      json: { error: { code: 'not_found', message: EXPIRED_OR_USED } },
    });
  });
});

describe('tsh login', () => {
  it('gives 12-hour credentials by default, which tsh status shows', async () => {
    const issuedAt = Date.now();
    const result = await login('alice', PASSWORD);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const pattern = statusPattern({ ...ALICE, validFor: TWELVE_HOURS });
    expectExpiry(result.stdout, pattern, 12 * HOUR, issuedAt);

    const status = await cluster.tsh(['status']);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expectExpiry(status.stdout, pattern, 12 * HOUR, issuedAt);
    expect(status.stdout).toMatch(/\[valid for 1[12]h\d+m\d+s\]\n$/);
  });

  it('honours --ttl in minutes', async () => {
    const issuedAt = Date.now();
    const result = await login('alice', PASSWORD, ['--ttl=60']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expectExpiry(result.stdout, statusPattern({ ...ALICE, validFor: ONE_HOUR }), HOUR, issuedAt);
  });

  it('refuses a wrong password without saying which part was wrong', async () => {
    expect(await login('alice', 'not-the-password')).toEqual({ code: 1, stdout: '', stderr: INVALID });
    expect(await login('nobody', PASSWORD)).toEqual({ code: 1, stdout: '', stderr: INVALID });
    // One failure does not lock the account; this success clears the count.
    expect((await login('alice', PASSWORD)).code).toBe(0);
  });
});

describe('the account lock', () => {
  it('locks the account at the fifth failure in a row, even for the right password', async () => {
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect(await login('alice', `wrong-password-${attempt}`)).toEqual({ code: 1, stdout: '', stderr: INVALID });
    }
    const fifth = await login('alice', 'wrong-password-5');
    expect(fifth.code).toBe(1);
    expect(fifth.stdout).toBe('');
    expect(fifth.stderr).toMatch(LOCKED);

    const right = await login('alice', PASSWORD);
    expect(right.code).toBe(1);
    expect(right.stdout).toBe('');
    expect(right.stderr).toMatch(LOCKED);

    const users = JSON.parse((await cluster.tctl(['users', 'ls', '--format=json'])).stdout) as { name: string; locked_until?: string }[];
    const alice = users.find((u) => u.name === 'alice')!;
    expect(Date.parse(alice.locked_until!)).toBeGreaterThan(Date.now() + 19 * 60_000);
    expect(right.stderr).toContain(`try again after ${alice.locked_until} `);
  });

  it('is lifted by a password set through the reset link, not by the reset alone', async () => {
    const reset = await cluster.tctl(['users', 'reset', 'alice']);
    expect(reset.stderr).toBe('');
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(
      new RegExp(
        '^' +
          escape('User "alice" has been reset. Share this URL with the user to complete password reset, link is valid for 8h:\n') +
          escape(`https://${cluster.proxyAddr}/web/reset/`) +
          '[0-9a-f]{32}\\n\\n' +
          escape(`NOTE: Make sure ${cluster.proxyAddr} points at a Teleport proxy which users can access.\n`) +
          '$',
      ),
    );
    const token = linkToken(reset.stdout, 'reset');

    expect((await login('alice', PASSWORD)).stderr).toMatch(LOCKED);

    const page = await httpsGetText(`https://${cluster.proxyAddr}/web/reset/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(await cluster.api('GET', `/v1/webapi/users/password/token/${token}`)).toEqual({
      status: 200,
      json: { user: 'alice', kind: 'reset', expires: expect.any(String) },
    });
    expect(await cluster.api('PUT', '/v1/webapi/users/password/token', { token, password: NEW_PASSWORD })).toEqual({
      status: 200,
      json: { user: 'alice' },
    });

    expect(await login('alice', PASSWORD)).toEqual({ code: 1, stdout: '', stderr: INVALID });
    const issuedAt = Date.now();
    const result = await login('alice', NEW_PASSWORD);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expectExpiry(result.stdout, statusPattern({ ...ALICE, validFor: TWELVE_HOURS }), 12 * HOUR, issuedAt);

    const users = JSON.parse((await cluster.tctl(['users', 'ls', '--format=json'])).stdout) as { name: string; locked_until?: string }[];
    expect(users.find((u) => u.name === 'alice')).not.toHaveProperty('locked_until');
  });
});

describe("a role's max_session_ttl", () => {
  beforeAll(async () => {
    const file = join(cluster.dir, 'short-sessions.yaml');
    writeFileSync(
      file,
      `kind: role
version: v7
metadata:
  name: short-sessions
spec:
  options:
    max_session_ttl: 1h
  allow:
    db_labels: {'*': '*'}
    db_users: ['{{internal.db_users}}']
    db_names: ['{{internal.db_names}}']
`,
    );
    expect(await cluster.tctl(['create', file])).toEqual({ code: 0, stdout: 'role "short-sessions" has been created\n', stderr: '' });
    await cluster.createUser('erin', 'erin-long-password', ['--roles=access,short-sessions', '--db-users=erin', '--db-names=app']);
  });

  it.each([
    ['--ttl=600', ['--ttl=600']],
    ['the default TTL', []],
  ])('caps the certificate at 1h with %s', async (_name, extra) => {
    const issuedAt = Date.now();
    const result = await login('erin', 'erin-long-password', extra);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expectExpiry(
      result.stdout,
      statusPattern({ user: 'erin', roles: 'access, short-sessions', dbUsers: 'erin', dbNames: 'app', validFor: ONE_HOUR }),
      HOUR,
      issuedAt,
    );
  });
});

describe('tsh logout', () => {
  it('removes the credentials; tsh status then says to log in', async () => {
    expect((await login('alice', NEW_PASSWORD)).code).toBe(0);
    expect(existsSync(join(cluster.tshHome, 'current-profile'))).toBe(true);

    expect(await cluster.tsh(['logout'])).toEqual({ code: 0, stdout: `Logged out alice (${cluster.proxyAddr}).\n`, stderr: '' });
    expect(readdirSync(cluster.tshHome)).toEqual([]);
    expect(await cluster.tsh(['status'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "ERROR: not logged in: run 'tsh login --proxy=HOST:PORT --user=NAME'\n",
    });
    expect(await cluster.tsh(['logout'])).toEqual({ code: 0, stdout: 'You are not logged in.\n', stderr: '' });
  });
});
