import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChild } from './support/cluster.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs a printed command line through sh with the demo's PATH, as a person would paste it. */
function sh(command: string, env: NodeJS.ProcessEnv, input = ''): { code: number; out: string } {
  try {
    return {
      code: 0,
      out: execFileSync('sh', ['-c', command], {
        env: { ...process.env, ...env },
        input,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: e.stdout + e.stderr };
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      done(true);
    });
    socket.on('error', () => done(false));
  });
}

describe('npm run demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-demo-'));
  let demo: ChildProcess;
  let output = '';

  beforeAll(async () => {
    demo = spawn(process.execPath, [join(ROOT, 'dist/scripts/demo.js')], {
      env: { ...process.env, DEMO_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 90_000;
    while (!output.includes('Press Ctrl-C')) {
      if (demo.exitCode !== null || Date.now() > deadline) throw new Error(`demo did not come up:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    if (demo) await stopChild(demo, 20_000, 'SIGINT');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints next steps that work as printed, and Ctrl-C stops every process it started', async () => {
    const exportLine = /^ {2}export PATH="([^"]+):\$PATH" TELEPORT_HOME="([^"]+)" PGSERVICEFILE="([^"]+)"$/m.exec(output);
    expect(exportLine).not.toBeNull();
    const env = { PATH: `${exportLine![1]}:${process.env.PATH}`, TELEPORT_HOME: exportLine![2], PGSERVICEFILE: exportLine![3] };
    const password = /password: (\S+)/.exec(output)![1]!;
    const login = /^ {2}(tsh login .*)$/m.exec(output)![1]!;

    const loggedIn = sh(login, env, `${password}\n`);
    expect(loggedIn).toMatchObject({ code: 0 });
    expect(loggedIn.out).toContain('Logged in as:       admin');

    const status = sh('tsh status', env);
    expect(status.out).toMatch(/Roles: +editor, access, auditor/);

    const tctlStatus = sh('tctl status', env);
    expect(tctlStatus).toMatchObject({ code: 0 });
    expect(tctlStatus.out).toMatch(/^Cluster  demo\n/);

    const dbs = sh('tsh db ls', env);
    expect(dbs.out).toMatch(/^Name +Description +Labels\n-+ -+ -+\ndemo-postgres Demo PostgreSQL 15 env=demo\n$/);

    const connect = /^ {2}(tsh db connect .*)$/m.exec(output)![1]!;
    const session = sh(connect, env, 'select text from greetings;\n');
    expect(session).toMatchObject({ code: 0 });
    expect(session.out).toContain('hello from dbaccess');

    // The session is recorded: listed, then played back as the demo suggests.
    expect(output).toMatch(/^ {2}tsh recordings ls$/m);
    let listed: Array<{ sid: string; statements: number }> = [];
    for (let tries = 0; tries < 50 && !listed.some((s) => s.statements === 1); tries++) {
      await new Promise((r) => setTimeout(r, 200));
      listed = JSON.parse(sh('tsh recordings ls --format=json', env).out) as typeof listed;
    }
    expect(sh('tsh recordings ls', env).out).toContain(listed[0]!.sid);
    const play = /^ {2}(tsh play --format=text) </m.exec(output)![1]!;
    const played = sh(`${play} ${listed[0]!.sid}`, env);
    expect(played).toMatchObject({ code: 0 });
    expect(played.out).toContain('postgres=> select text from greetings;\nSUCCESS\n(1 row affected)\n');

    // teleport, its nats-server and the Database Service name the demo's dir on their command lines; PostgreSQL is found by its port.
    const pids = () =>
      execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(dir) && !l.includes('ps -eo'));
    const pgPort = Number(/Demo PostgreSQL: +127\.0\.0\.1:(\d+)/.exec(output)![1]);
    expect(pids().length).toBe(3);
    await expect(listening(pgPort)).resolves.toBe(true);

    await stopChild(demo, 20_000, 'SIGINT');
    expect(output).toContain('Stopped.');
    await new Promise((r) => setTimeout(r, 500));
    expect(pids()).toEqual([]);
    await expect(listening(pgPort)).resolves.toBe(false);
  });
});
