// docker-compose.yml as a user runs it, with a real Docker engine: `docker-compose up` of the file as it
// is, the README's commands from the host (tsh login, tsh db connect with psql, tsh play), then
// --scale proxy=2 --scale db=3 serving 20 sessions over every replica; the edge network cannot reach
// NATS; on a three-node NATS cluster (the override file), a node killed changes nothing for sessions.
// The engine is started for the test when none runs, and the host is left as it was found.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpsInsecure, runCommand } from '#libs/testing';
import { run, type RunResult } from '../support/cluster.js';
import { eventually } from '../support/provisioning.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HERE = join(ROOT, 'tests/docker');
const PROJECT = `dbaccess-test-${randomBytes(3).toString('hex')}`;
const KEK = randomBytes(32).toString('hex');
const state = mkdtempSync(join(tmpdir(), 'dbaccess-docker-'));
const home = join(state, 'tsh');
const serviceFile = join(state, 'pg_service.conf');
const timings: string[] = [];
let basePort = 0;
let proxyPorts: number[] = [];
let engine: 'ours' | 'theirs' | 'none' = 'none';

/** Runs a command to completion, its output kept; never throws. */
async function sh(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  try {
    const result = await runCommand(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      input: opts.input,
      timeoutMs: opts.timeoutMs,
    });
    return { ...result, code: result.code ?? -1 };
  } catch (err) {
    return { code: -1, stdout: '', stderr: (err as Error).message };
  }
}

function ok(result: RunResult, what: string): string {
  if (result.code !== 0) throw new Error(`${what} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** What the proxies publish: one port, as by default (3080); a range for several proxies. */
let proxyPortsSpec = '';
const composeEnv = () => ({ DBACCESS_KEK: KEK, DBACCESS_PROXY_PORTS: proxyPortsSpec, COMPOSE_PROJECT_NAME: PROJECT });
/** The compose files in use: docker-compose.yml, and the NATS cluster's override once that test runs. */
let files: string[] = [];
const compose = (args: string[], timeoutMs = 600_000) =>
  sh('docker-compose', [...files.flatMap((f) => ['-f', f]), ...args], { env: composeEnv(), timeoutMs });
const tsh = (args: string[], input?: string) =>
  run('tsh', args, { env: { TELEPORT_HOME: home, PGSERVICEFILE: serviceFile }, ...(input !== undefined ? { input } : {}) });

/** Runs a step and keeps its time; when it fails, the containers' states and the proxies' last logs go with the error. */
async function timed<T>(what: string, step: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    const result = await step();
    timings.push(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } catch (err) {
    const ps = await compose(['ps'], 30_000);
    const logs = await compose(['logs', '--no-color', '--tail=30', 'proxy'], 30_000);
    const restarts = await sh('sh', [
      '-c',
      `docker ps -aq --filter label=com.docker.compose.project=${PROJECT} | xargs -r docker inspect -f '{{.Name}} restarts={{.RestartCount}} started={{.State.StartedAt}}'`,
    ]);
    throw new Error(`${what}: ${(err as Error).message}\n\n${ps.stdout}\n${restarts.stdout}\n${logs.stdout}`);
  }
}

/** Which of the NATS nodes the broker's connection goes to (port 4222 in its /proc/net/tcp). */
async function brokersNatsNode(): Promise<string> {
  const tcp = ok(await compose(['exec', '-T', 'broker', 'cat', '/proc/net/tcp'], 30_000), 'reading the broker container /proc/net/tcp');
  // rem_address of an established connection to port 4222 (0x107E): the IPv4 address, little-endian hex.
  const remote = /^\s*\d+: \S+ ([0-9A-F]{8}):107E 01 /m.exec(tcp)?.[1];
  if (!remote) throw new Error(`the broker has no connection to NATS:\n${tcp}`);
  const ip = [3, 2, 1, 0].map((i) => parseInt(remote.slice(i * 2, i * 2 + 2), 16)).join('.');
  for (const node of ['nats', 'nats-2', 'nats-3']) {
    const id = ok(await compose(['ps', '-q', node], 30_000), `docker-compose ps ${node}`).trim();
    const ips = ok(
      await sh('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', id]),
      'docker inspect',
    );
    if (ips.split(/\s+/).includes(ip)) return node;
  }
  throw new Error(`no NATS node has the address ${ip}`);
}

/** Four consecutive free ports on every address, for the proxies' published range. */
async function freeRange(): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
    });
  for (let base = 20_000 + Math.floor(Math.random() * 20_000); ; base += 4) {
    const all = await Promise.all([0, 1, 2, 3].map((i) => free(base + i)));
    if (all.every(Boolean)) return base;
  }
}

/** The containers of a compose service, and whether each is healthy. */
async function health(service: string): Promise<string[]> {
  const ids = ok(await compose(['ps', '-q', service]), `docker-compose ps ${service}`)
    .split('\n')
    .filter(Boolean);
  return Promise.all(
    ids.map(async (id) => ok(await sh('docker', ['inspect', '--format', '{{.State.Health.Status}}', id]), 'docker inspect').trim()),
  );
}

async function healthy(service: string, count: number): Promise<void> {
  await eventually(async () => {
    const states = await health(service);
    expect(states).toEqual(Array(count).fill('healthy'));
  }, 300_000);
}

// Whether an engine runs decides, before the tests are collected, whether they run or are skipped.
const started = await sh('bash', [join(HERE, 'engine.sh'), 'start', state], { timeoutMs: 600_000 });
if (started.code === 3) console.warn(`NO DOCKER ENGINE CAN RUN HERE: the compose test is skipped.\n${started.stderr}`);
else engine = ok(started, 'starting the Docker engine').includes('runs already') ? 'theirs' : 'ours';
const itWithDocker = engine === 'none' ? it.skip : it;

beforeAll(async () => {
  if (engine === 'none') return;
  await timed('base images', async () => ok(await sh('bash', [join(HERE, 'base-images.sh')], { timeoutMs: 1_200_000 }), 'base images'));
  basePort = await freeRange();
  proxyPortsSpec = String(basePort);
  // This network re-signs TLS: npm ci in the image build trusts the host's CA bundle.
  const bundle = '/etc/ssl/certs/ca-certificates.crt';
  if (existsSync(bundle)) copyFileSync(bundle, join(ROOT, 'deploy/build-ca.pem'));
  try {
    await timed('docker-compose build', async () => ok(await compose(['build'], 1_800_000), 'docker-compose build'));
  } finally {
    rmSync(join(ROOT, 'deploy/build-ca.pem'), { force: true });
  }
}, 3_600_000);

afterAll(async () => {
  if (engine !== 'none') {
    const down = await compose(['down', '-v', '--remove-orphans']);
    if (down.code !== 0) console.warn(`docker-compose down: ${down.stderr}`);
  }
  if (engine === 'ours') ok(await sh('bash', [join(HERE, 'engine.sh'), 'stop', state]), 'stopping the Docker engine');
  rmSync(state, { recursive: true, force: true });
  if (timings.length) console.log(`compose test timings:\n  ${timings.join('\n  ')}`);
}, 300_000);

itWithDocker(
  'docker-compose up, then login, psql through the proxy and the session played back, as the README says',
  async () => {
    await timed('docker-compose up until every service is healthy', async () => {
      ok(await compose(['up', '-d']), 'docker-compose up');
      for (const service of ['auth', 'inventory', 'broker', 'audit', 'proxy', 'postgres', 'db', 'provisioning']) await healthy(service, 1);
    });
    const proxy = `localhost:${basePort}`;

    // The README: a user from tctl in the auth container, its password through the signup link.
    const added = ok(
      await compose(['exec', '-T', 'auth', 'tctl', 'users', 'add', 'alice', '--roles=access,auditor', '--db-users=*', '--db-names=*']),
      'tctl users add',
    );
    const token = /\/web\/invite\/([0-9a-f]+)/.exec(added)?.[1];
    expect(token).toBeDefined();
    const set = await httpsInsecure(`https://127.0.0.1:${basePort}/v1/webapi/users/password/token`, 'PUT', {
      token,
      password: 'alice-password-123',
    });
    expect(set.status).toBe(200);

    await timed('tsh login, tsh db ls, tsh db connect (psql)', async () => {
      ok(await tsh(['login', '--insecure', `--proxy=${proxy}`, '--user=alice'], 'alice-password-123\n'), 'tsh login');
      expect(ok(await tsh(['db', 'ls']), 'tsh db ls')).toMatch(/demo-postgres\s+Demo PostgreSQL 15/);
      const psql = ok(
        await tsh(['db', 'connect', '--db-user=postgres', '--db-name=postgres', 'demo-postgres'], 'select text from greetings;\n'),
        'tsh db connect',
      );
      expect(psql).toContain('hello from dbaccess');
    });

    await timed('tsh recordings ls, tsh play', async () => {
      const sid = await eventually(async () => {
        const listed = JSON.parse(ok(await tsh(['recordings', 'ls', '--format=json']), 'tsh recordings ls')) as { sid: string }[];
        expect(listed.length).toBeGreaterThan(0);
        return listed[0]!.sid;
      }, 30_000);
      expect(ok(await tsh(['play', '--format=text', sid]), 'tsh play')).toContain('select text from greetings');
    });

    // The image carries the web UI, and alice can sign in to it.
    const page = await httpsInsecure(`https://127.0.0.1:${basePort}/web`, 'GET');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<script type="module" src="/web/assets/app.js"></script>');
    expect((await httpsInsecure(`https://127.0.0.1:${basePort}/web/assets/app.js`, 'GET')).status).toBe(200);
    const signIn = await httpsInsecure(`https://127.0.0.1:${basePort}/v1/webapi/sessions/web`, 'POST', {
      user: 'alice',
      password: 'alice-password-123',
    });
    expect(signIn.status).toBe(200);
    expect(JSON.parse(signIn.text)).toMatchObject({ user: 'alice', roles: ['access', 'auditor'] });
  },
  1_200_000,
);

itWithDocker(
  'the Database Services and the demo PostgreSQL cannot reach NATS: the proxy is their only way in, and it holds no key of the control plane',
  async () => {
    const probe =
      "require('net').connect(4222, 'nats').on('connect', () => { console.log('connected'); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(1) })";
    const fromEdge = await compose(['exec', '-T', 'db', 'node', '-e', probe], 30_000);
    expect(fromEdge.code).toBe(1);
    expect(fromEdge.stdout.trim()).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/);
    // The proxy, on both networks, does reach it.
    const fromProxy = await compose(['exec', '-T', 'proxy', 'node', '-e', probe], 30_000);
    expect(fromProxy.stdout.trim()).toBe('connected');
    // The proxy, which the outside reaches, holds its own credentials only: no KEK, no bus keys, no
    // token but its own.
    const holds = await compose(
      ['exec', '-T', 'proxy', 'sh', '-c', 'echo "kek=${DBACCESS_KEK:-none}"; ls /cluster /join 2>&1; ls /var/lib/teleport'],
      30_000,
    );
    expect(holds.stdout).toContain('kek=none');
    expect(holds.stdout).toMatch(/ls: cannot access '\/cluster': No such file or directory/);
    expect(holds.stdout).toMatch(/ls: cannot access '\/join': No such file or directory/);
    expect(holds.stdout).toContain('proxy-identity.pem');
    expect(holds.stdout).not.toContain('bus-keys.json');
  },
  120_000,
);

itWithDocker(
  '--scale proxy=2 --scale db=3: 20 sessions through both proxies, served by all three Database Services',
  async () => {
    await timed('docker-compose up --scale proxy=2 --scale db=3 until healthy', async () => {
      // Several proxies publish a range, as docs/docker.md says; Docker gives each replica one of its ports.
      proxyPortsSpec = `${basePort}-${basePort + 3}`;
      ok(await compose(['up', '-d', '--scale', 'proxy=2', '--scale', 'db=3']), 'docker-compose up --scale');
      await healthy('proxy', 2);
      await healthy('db', 3);
      // Each replica publishes a port of the range, which Docker picks: ask it which.
      proxyPorts = await Promise.all(
        [1, 2].map(async (index) => {
          const published = ok(await compose(['port', `--index=${index}`, 'proxy', '3080']), 'docker-compose port');
          return Number(/:(\d+)\s*$/.exec(published)![1]);
        }),
      );
      // Healthy inside; each published port answering from the host too.
      for (const port of proxyPorts)
        await eventually(
          async () => expect((await httpsInsecure(`https://localhost:${port}/v1/webapi/ping`, 'GET')).status).toBe(200),
          30_000,
        );
    });
    await timed('20 sessions over the replicas', async () => {
      expect(new Set(proxyPorts).size).toBe(2);
      const before = new Set<string>();
      for (let i = 0; i < 20; i++) {
        // Alternate proxies, each at the port it published.
        const proxy = `localhost:${proxyPorts[i % 2]}`;
        ok(await tsh(['login', '--insecure', `--proxy=${proxy}`, '--user=alice'], 'alice-password-123\n'), `tsh login to ${proxy}`);
        const out = ok(
          await tsh(['db', 'connect', '--db-user=postgres', '--db-name=postgres', 'demo-postgres'], `select ${i} as n;\n`),
          `session ${i} through ${proxy}`,
        );
        expect(out).toMatch(new RegExp(`\\b${i}\\b`));
        before.add(proxy);
      }
      expect(before.size).toBe(2);
    });
    // Every Database Service replica served some of them: each session's events name the host that served it.
    const sids = await eventually(async () => {
      const listed = JSON.parse(ok(await tsh(['recordings', 'ls', '--format=json']), 'tsh recordings ls')) as { sid: string }[];
      expect(listed.length).toBeGreaterThanOrEqual(21);
      return listed.map((r) => r.sid);
    }, 30_000);
    const servers = new Set<string>();
    for (const sid of sids) {
      const events = JSON.parse(ok(await tsh(['play', '--format=json', sid]), 'tsh play')) as { server_id?: string }[];
      for (const e of events) if (e.server_id) servers.add(e.server_id);
    }
    expect(servers.size).toBe(3);
  },
  1_200_000,
);

itWithDocker(
  'on a three-node NATS cluster (docker-compose.nats-cluster.yml): a node killed, sessions and their audit go on',
  async () => {
    await timed('docker-compose up with the NATS cluster until healthy', async () => {
      ok(await compose(['down', '-v', '--remove-orphans']), 'docker-compose down');
      files = ['docker-compose.yml', 'docker-compose.nats-cluster.yml'];
      proxyPortsSpec = String(basePort);
      ok(await compose(['up', '-d']), 'docker-compose up with docker-compose.nats-cluster.yml');
      for (const service of ['auth', 'inventory', 'broker', 'audit', 'proxy', 'postgres', 'db']) await healthy(service, 1);
    });
    const added = ok(
      await compose(['exec', '-T', 'auth', 'tctl', 'users', 'add', 'bob', '--roles=access,auditor', '--db-users=*', '--db-names=*']),
      'tctl users add',
    );
    const token = /\/web\/invite\/([0-9a-f]+)/.exec(added)![1];
    expect(
      (await httpsInsecure(`https://127.0.0.1:${basePort}/v1/webapi/users/password/token`, 'PUT', { token, password: 'bob-password-123' }))
        .status,
    ).toBe(200);
    ok(await tsh(['login', '--insecure', `--proxy=localhost:${basePort}`, '--user=bob'], 'bob-password-123\n'), 'tsh login');

    // The node the broker is connected to: killing it is what a session's setup feels at once.
    const node = await brokersNatsNode();
    await timed(`the broker's NATS node (${node}) killed: a new session, and its playback`, async () => {
      ok(await compose(['kill', node]), `docker-compose kill ${node}`);
      const out = ok(
        await tsh(['db', 'connect', '--db-user=postgres', '--db-name=postgres', 'demo-postgres'], 'select 4242 as survived;\n'),
        'tsh db connect',
      );
      expect(out).toContain('4242');
      await eventually(async () => {
        const listed = JSON.parse(ok(await tsh(['recordings', 'ls', '--format=json']), 'tsh recordings ls')) as { sid: string }[];
        const played = await Promise.all(listed.map(async (r) => ok(await tsh(['play', '--format=text', r.sid]), 'tsh play')));
        expect(played.join('\n')).toContain('select 4242 as survived');
      }, 60_000);
    });
    ok(await compose(['start', node]), `docker-compose start ${node}`);
  },
  1_200_000,
);
