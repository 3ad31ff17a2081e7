// PgBouncer from Debian with TLS on both sides: the comparison point for our proxy.
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acceptsTcp } from '#libs/testing';
import { LongRunning, runCommand, tail } from './procs.js';

const SBIN = ['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

function findPgbouncer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN];
  return dirs
    .map((d) => join(d, 'pgbouncer'))
    .find((p) => {
      try {
        accessSync(p, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

const isRoot = () => process.getuid?.() === 0;

/** The pgbouncer binary; installs Debian's package with apt-get (as root, else with sudo) when it is missing. */
export async function ensurePgbouncer(say: (line: string) => void): Promise<string> {
  const found = findPgbouncer();
  if (found) return found;
  say('installing pgbouncer (apt-get install pgbouncer; under a minute)');
  const sudo = isRoot() ? [] : ['sudo'];
  const as = (cmd: string[]) => (sudo.length ? ['sudo', ...cmd] : cmd);
  // The package must not start its own pgbouncer service: policy-rc.d exiting 101 forbids it.
  const policy = '/usr/sbin/policy-rc.d';
  let ownPolicy = false;
  if (!existsSync(policy)) {
    const [cmd, ...args] = as(['sh', '-c', `printf '#!/bin/sh\\nexit 101\\n' > ${policy} && chmod 755 ${policy}`]);
    const made = await runCommand(cmd!, args);
    ownPolicy = made.code === 0;
  }
  try {
    for (const step of [
      ['apt-get', 'update'],
      ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '--no-install-recommends', 'pgbouncer'],
    ]) {
      const [cmd, ...args] = as(step);
      const result = await runCommand(cmd!, args);
      if (result.code !== 0) throw new Error(`${step.join(' ')} failed:\n${tail(result.stdout + result.stderr)}`);
    }
  } finally {
    if (ownPolicy) {
      const [cmd, ...args] = as(['rm', '-f', policy]);
      await runCommand(cmd!, args);
    }
  }
  const installed = findPgbouncer();
  if (!installed) throw new Error('pgbouncer is still missing after apt-get install pgbouncer');
  return installed;
}

export interface PgbouncerOptions {
  bin: string;
  dir: string;
  port: number;
  /** PostgreSQL, reached with TLS verify-full. */
  server: { host: string; port: number; caPem: string; certPem: string; keyPem: string };
  /** What clients see: the TLS server certificate and key. */
  client: { certPem: string; keyPem: string };
  dbUser: string;
  poolMode: 'session' | 'transaction';
  poolSize: number;
}

/** Starts pgbouncer in the foreground (as `postgres` when we are root: it refuses to run as root). */
export async function startPgbouncer(o: PgbouncerOptions): Promise<LongRunning> {
  mkdirSync(o.dir, { recursive: true });
  const file = (name: string, text: string, mode = 0o600) => {
    const path = join(o.dir, name);
    writeFileSync(path, text, { mode });
    return path;
  };
  const users = file('users.txt', `"${o.dbUser}" ""\n`);
  const serverCa = file('server-ca.pem', o.server.caPem, 0o644);
  const serverCert = file('server-client.crt', o.server.certPem, 0o644);
  const serverKey = file('server-client.key', o.server.keyPem);
  const clientCert = file('client-server.crt', o.client.certPem, 0o644);
  const clientKey = file('client-server.key', o.client.keyPem);
  const ini = file(
    'pgbouncer.ini',
    [
      '[databases]',
      `postgres = host=${o.server.host} port=${o.server.port} dbname=postgres`,
      '',
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${o.port}`,
      'unix_socket_dir =',
      `logfile = ${join(o.dir, 'pgbouncer.log')}`,
      `pidfile = ${join(o.dir, 'pgbouncer.pid')}`,
      'auth_type = trust',
      `auth_file = ${users}`,
      `pool_mode = ${o.poolMode}`,
      `default_pool_size = ${o.poolSize}`,
      `max_client_conn = 500`,
      'ignore_startup_parameters = extra_float_digits',
      'log_connections = 0',
      'log_disconnections = 0',
      'client_tls_sslmode = require',
      `client_tls_cert_file = ${clientCert}`,
      `client_tls_key_file = ${clientKey}`,
      'server_tls_sslmode = verify-full',
      `server_tls_ca_file = ${serverCa}`,
      `server_tls_cert_file = ${serverCert}`,
      `server_tls_key_file = ${serverKey}`,
      '',
    ].join('\n'),
  );
  let command = o.bin;
  let args = [ini];
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    for (const path of [o.dir, users, serverCa, serverCert, serverKey, clientCert, clientKey, ini]) chownSync(path, uid, gid);
    chmodSync(o.dir, 0o700);
    command = 'runuser';
    args = ['-u', 'postgres', '--', o.bin, ini];
  }
  rmSync(join(o.dir, 'pgbouncer.pid'), { force: true });
  const proc = new LongRunning('pgbouncer', command, args);
  let up = false;
  const poll = setInterval(() => void acceptsTcp(o.port).then((ok) => (up ||= ok)), 100);
  try {
    await proc.waitFor('', 20_000, () => up);
  } finally {
    clearInterval(poll);
  }
  return proc;
}
