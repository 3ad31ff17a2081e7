import { TestCluster } from '../support/cluster.js';
import { readStream } from '../support/cluster-stream.js';
import { linkToken } from '../support/links.js';

// Creating a user is a decision on the user's stream subject, appended with an expected version:
// of many concurrent creations of one name, exactly one may win, whichever process runs it.

const RACERS = 20;

let cluster: TestCluster;
let winnerToken = '';
beforeAll(async () => {
  cluster = await TestCluster.start();
});
afterAll(() => cluster?.stop());

it(`lets exactly one of ${RACERS} concurrent 'tctl users add bob' win`, async () => {
  const results = await Promise.all(Array.from({ length: RACERS }, () => cluster.tctl(['users', 'add', 'bob', '--roles=access'])));

  const winners = results.filter((r) => r.code === 0);
  const losers = results.filter((r) => r.code !== 0);
  expect(winners).toHaveLength(1);
  expect(winners[0]!.stderr).toBe('');
  expect(winners[0]!.stdout).toMatch(
    new RegExp(
      '^User "bob" has been created but requires a password\\. Share this URL with the user to complete user setup, link is valid for 1h:\\n' +
        `https://${cluster.proxyAddr.replace(/\./g, '\\.')}/web/invite/[0-9a-f]{32}\\n\\n` +
        `NOTE: Make sure ${cluster.proxyAddr.replace(/\./g, '\\.')} points at a Teleport proxy which users can access\\.\\n$`,
    ),
  );
  winnerToken = linkToken(winners[0]!.stdout);
  expect(losers).toHaveLength(RACERS - 1);
  for (const loser of losers) expect(loser).toEqual({ code: 1, stdout: '', stderr: 'ERROR: user "bob" already exists\n' });

  // The stream holds one creation: the losers appended nothing.
  const commits = (await readStream(cluster, 'CLUSTER')).filter((m) => m.subject === 'cluster.user.bob');
  expect(commits.map((m) => (JSON.parse(m.body) as { type: string }[]).map((e) => e.type))).toEqual([
    ['user.created', 'user.token.issued'],
  ]);

  const list = await cluster.tctl(['users', 'ls', '--format=json']);
  expect(list.code).toBe(0);
  expect(JSON.parse(list.stdout)).toEqual([{ name: 'bob', roles: ['access'], traits: {}, created_by: 'admin', has_password: false }]);
});

it("keeps the winner's signup link as the user's one outstanding link", async () => {
  expect(await cluster.api('GET', `/v1/webapi/users/password/token/${winnerToken}`)).toEqual({
    status: 200,
    json: { user: 'bob', kind: 'invite', expires: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
  });
  expect(await cluster.api('PUT', '/v1/webapi/users/password/token', { token: winnerToken, password: 'bob-password-123' })).toEqual({
    status: 200,
    json: { user: 'bob' },
  });
  const login = await cluster.tsh(['login', '--insecure', `--proxy=${cluster.proxyAddr}`, '--user=bob'], { input: 'bob-password-123\n' });
  expect(login.stderr).toBe('');
  expect(login.code).toBe(0);
  expect(login.stdout).toContain('  Logged in as:       bob\n');
  // A creation after the race is refused the same way.
  expect(await cluster.tctl(['users', 'add', 'bob', '--roles=access'])).toEqual({
    code: 1,
    stdout: '',
    stderr: 'ERROR: user "bob" already exists\n',
  });
});
