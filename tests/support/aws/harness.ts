// What the RDS tests share: the real PostgreSQL behind the RDS stand-in, and Teleport processes run
// with a chosen AWS environment (credentials, the STS stand-in's endpoint, no instance metadata).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { createCa, generateKeyPair, signDbClientCert, signDbServerCert } from '#libs/pki';
import { startPostgres, type PostgresCluster } from '#libs/testing';
import { BIN, stopChild, type TestCluster } from '../cluster.js';
import { directConnection, type RunningProcess } from '../data-plane.js';
import type { AccessKey } from './iam.js';
import type { RdsBackend } from './rds.js';

/** The cluster's PostgreSQL as the stand-in's inside: reached with db_client certificates, rds_iam read from pg_auth_members. */
export function clusterPostgresBackend(cluster: TestCluster, pg: PostgresCluster): RdsBackend {
  const certs = new Map<string, Promise<ConnectionOptions>>();
  return {
    port: pg.port,
    tlsFor(user) {
      if (!certs.has(user))
        certs.set(
          user,
          directConnection(cluster, pg, user).then((c) => ({ ...(c.ssl as ConnectionOptions), servername: 'localhost' })),
        );
      return certs.get(user)!;
    },
    hasRdsIam: (user) => hasRdsIam(pg, user),
  };
}

/**
 * The environment of a host whose AWS credentials are `key` (none when undefined): every AWS_* of
 * this process removed, HOME empty (no ~/.aws), instance metadata off so the chain does not wait
 * for it, and STS at the stand-in.
 */
export function awsEnv(
  dir: string,
  stsUrl: string,
  key: Pick<AccessKey, 'accessKeyId' | 'secretAccessKey'> | undefined,
): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  return {
    ...clean,
    HOME: mkdtempSync(join(dir, 'aws-home-')),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_STS: stsUrl,
    ...(key ? { AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey } : {}),
  };
}

/** A `teleport` process with `args` and `env`, once it logged `ready`. */
export async function startTeleport(args: string[], env: NodeJS.ProcessEnv, ready: string): Promise<RunningProcess> {
  const child = spawn(process.execPath, [BIN.teleport, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!log.includes(ready)) {
    if (child.exitCode !== null) throw new Error(`teleport ${args.join(' ')} exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`teleport ${args.join(' ')} did not log "${ready}" within 60s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { process: child, logs: () => log, stop: (signal = 'SIGTERM') => stopChild(child, 10_000, signal) };
}

/**
 * A PostgreSQL of the stand-in's own, for tests whose cluster does not exist yet: its server and
 * client certificates from CAs made here, no Teleport involved.
 */
export async function standalonePostgresBackend(dir: string): Promise<{ pg: PostgresCluster; backend: RdsBackend }> {
  const serverCa = await createCa('db', 'rds-backend');
  const clientCa = await createCa('db_client', 'rds-backend');
  const serverKeys = await generateKeyPair();
  const files = { certFile: join(dir, 'backend.crt'), keyFile: join(dir, 'backend.key'), caFile: join(dir, 'backend.cas') };
  writeFileSync(files.certFile, signDbServerCert(serverCa, serverKeys.publicKeyPem, { hosts: ['localhost'], ttlMs: 3_600_000 }));
  writeFileSync(files.keyFile, serverKeys.privateKeyPem, { mode: 0o600 });
  writeFileSync(files.caFile, clientCa.certPem);
  const pg = await startPostgres({ tls: files });
  const keys = await generateKeyPair();
  return {
    pg,
    backend: {
      port: pg.port,
      tlsFor: async (user) => ({
        ca: serverCa.certPem,
        cert: signDbClientCert(clientCa, keys.publicKeyPem, { dbUser: user, ttlMs: 3_600_000 }),
        key: keys.privateKeyPem,
        servername: 'localhost',
      }),
      hasRdsIam: (user) => hasRdsIam(pg, user),
    },
  };
}

async function hasRdsIam(pg: PostgresCluster, user: string): Promise<boolean> {
  const name = user.replace(/'/g, "''");
  const out = await pg.psql(`select count(*) from pg_roles r where r.rolname = '${name}' and pg_has_role(r.oid, 'rds_iam', 'member')`);
  return out.trim() === '1';
}
