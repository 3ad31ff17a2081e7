// `npm run demo`: the whole cluster on this machine with a demo PostgreSQL, and what to type next.
// State lives in .demo/ (or $DEMO_DIR) and starts fresh on every run; Ctrl-C stops every process.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { freePort, httpsInsecure, startPostgres, type PostgresCluster } from '#libs/testing';

const ROOT = resolve(import.meta.dirname, '..', '..');
const DIR = resolve(process.env.DEMO_DIR ?? join(ROOT, '.demo'));
const bin = (name: string) => join(ROOT, 'dist', 'cli', name, 'main.js');

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer().once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

function run(name: string, args: string[], input = ''): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin(name), ...args], { env: { ...process.env, TELEPORT_HOME: join(DIR, 'tsh') } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? done(out) : fail(new Error(`${name} ${args.join(' ')}: ${err.trim()}`))));
    child.stdin.on('error', () => undefined); // EPIPE when the command exits without reading its input; its exit code tells why
    child.stdin.end(input);
  });
}

function step(text: string): void {
  process.stdout.write(`  ${text}\n`);
}

async function main(): Promise<void> {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(join(DIR, 'bin'), { recursive: true });
  const proxyPort = (await portIsFree(3080)) ? 3080 : await freePort();
  const natsPort = await freePort();
  const proxyAddr = `localhost:${proxyPort}`;
  const config = join(DIR, 'teleport.yaml');
  writeFileSync(
    config,
    `teleport:\n  data_dir: ${join(DIR, 'data')}\n  nats:\n    listen_addr: 127.0.0.1:${natsPort}\n` +
      `auth_service:\n  cluster_name: demo\nproxy_service:\n  web_listen_addr: 127.0.0.1:${proxyPort}\n  public_addr: ${proxyAddr}\n`,
  );

  process.stdout.write('Starting the dbaccess demo cluster:\n');
  step(`teleport start -c ${config}`);
  const logFile = join(DIR, 'teleport.log');
  const teleport: ChildProcess = spawn(process.execPath, [bin('teleport'), 'start', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (d: Buffer) => {
    log += d.toString();
    writeFileSync(logFile, log);
  };
  teleport.stdout!.on('data', append);
  teleport.stderr!.on('data', append);
  while (!log.includes('the cluster is up')) {
    if (teleport.exitCode !== null) throw new Error(`teleport start failed:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  let postgres: PostgresCluster | undefined;
  let dbService: ChildProcess | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping the demo cluster...\n');
    for (const child of [dbService, teleport]) {
      if (!child || child.exitCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await postgres?.stop();
    process.stdout.write('Stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  teleport.on('exit', (code) => {
    if (!stopping) {
      process.stderr.write(`teleport exited unexpectedly (${code}); see ${logFile}\n`);
      void stop();
    }
  });

  const tctl = (...args: string[]) => run('tctl', ['-c', config, ...args]);
  step("tctl auth sign --format=db --host=localhost,127.0.0.1 (the demo PostgreSQL's certificate)");
  const pgDir = join(DIR, 'postgres');
  mkdirSync(pgDir);
  await tctl('auth', 'sign', '--format=db', '--host=localhost,127.0.0.1', `--out=${join(pgDir, 'server')}`, '--ttl=2190h');
  step('PostgreSQL 15 with ssl = on and hostssl ... cert (guide step 3)');
  postgres = await startPostgres({
    tls: { certFile: join(pgDir, 'server.crt'), keyFile: join(pgDir, 'server.key'), caFile: join(pgDir, 'server.cas') },
  });
  await postgres.psql("CREATE TABLE greetings(id serial, text text); INSERT INTO greetings(text) VALUES ('hello from dbaccess');");
  const joinToken = (await tctl('tokens', 'add', '--type=db', '--format=text')).trim();
  step(
    `teleport db start --token=... --proxy=${proxyAddr} --name=demo-postgres --protocol=postgres --uri=localhost:${postgres.port} --labels=env=demo`,
  );
  dbService = spawn(
    process.execPath,
    [
      bin('teleport'),
      'db',
      'start',
      `--token=${joinToken}`,
      `--proxy=${proxyAddr}`,
      '--name=demo-postgres',
      '--description=Demo PostgreSQL 15',
      '--protocol=postgres',
      `--uri=localhost:${postgres.port}`,
      '--labels=env=demo',
      `--data-dir=${join(DIR, 'db')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  dbService.stdout!.on('data', append);
  dbService.stderr!.on('data', append);
  while (!log.includes('the Database Service is up')) {
    if (dbService.exitCode !== null) throw new Error(`teleport db start failed:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  step("tctl users add admin --roles=editor,access,auditor --db-users='*' --db-names='*'");
  const added = await tctl('users', 'add', 'admin', '--roles=editor,access,auditor', '--db-users=*', '--db-names=*');
  const token = /\/web\/invite\/([0-9a-f]+)/.exec(added)?.[1];
  const password = `demo-${randomBytes(9).toString('base64url')}`;
  if (!token) throw new Error(`tctl users add printed no signup link:\n${added}`);
  await setPasswordInsecure(proxyPort, token, password);

  for (const name of ['tsh', 'tctl', 'teleport']) {
    const wrapper = join(DIR, 'bin', name);
    writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${bin(name)}" "$@"\n`);
    chmodSync(wrapper, 0o755);
  }

  process.stdout.write(
    `\nThe dbaccess demo cluster "demo" is running.\n\n` +
      `  Proxy (web API):   https://${proxyAddr}\n` +
      `  Web UI:            https://${proxyAddr}/web   (sign in as admin; databases, the audit log, session recordings)\n` +
      `  Admin user:        admin   password: ${password}\n` +
      `  Demo PostgreSQL:   127.0.0.1:${postgres.port}, served as database "demo-postgres" (env=demo)\n` +
      `  State and logs:    ${DIR}\n\n` +
      `In another terminal:\n\n` +
      `  export PATH="${join(DIR, 'bin')}:$PATH" TELEPORT_HOME="${join(DIR, 'tsh')}" PGSERVICEFILE="${join(DIR, 'pg_service.conf')}"\n` +
      `  tsh login --insecure --proxy=${proxyAddr} --user=admin\n` +
      `  tsh status\n` +
      `  tctl status\n` +
      `  tsh db ls\n` +
      `  tsh db connect --db-user=postgres --db-name=postgres demo-postgres\n\n` +
      `psql then reaches PostgreSQL through the proxy; try: select * from greetings;\n` +
      `Then see the session you just had, recorded statement by statement:\n\n` +
      `  tsh recordings ls\n` +
      `  tsh play --format=text <ID from the list>\n\n` +
      `(--insecure: the demo proxy's certificate is signed by the cluster's own CA; compare the CA pin of 'tctl status'.)\n` +
      `Press Ctrl-C to stop everything.\n`,
  );
}

/** PUT the password with the cluster's self-signed certificate accepted (a local demo only). */
async function setPasswordInsecure(port: number, token: string, password: string): Promise<void> {
  const res = await httpsInsecure(`https://127.0.0.1:${port}/v1/webapi/users/password/token`, 'PUT', { token, password });
  if (res.status !== 200) throw new Error(`setting the admin password failed: HTTP ${res.status} ${res.text}`);
}

main().catch((err: Error) => {
  process.stderr.write(`ERROR: ${err.message}\n`);
  process.exit(1);
});
