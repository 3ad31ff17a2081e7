import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Layout of `teleport.data_dir`.

/** The identity `tctl` uses on the auth host (built-in role Admin). */
export function adminIdentityPath(dataDir: string): string {
  return join(dataDir, 'admin-identity.pem');
}

/** The bus's operator and account keys, sealed with the key-encryption key (auth host only). */
export function busKeysPath(dataDir: string): string {
  return join(dataDir, 'bus-keys.json');
}

/** The embedded NATS server's configuration, written at each start. */
export function embeddedNatsConfigPath(dataDir: string): string {
  return join(dataDir, 'nats-server.conf');
}

/** JetStream store of the embedded NATS server. */
export function embeddedNatsDir(dataDir: string): string {
  return join(dataDir, 'nats');
}

/** This host's id, as Teleport keeps it: a UUID created on first start and kept in the data dir. */
export function hostUuid(dataDir: string): string {
  const path = join(dataDir, 'host_uuid');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const id = randomUUID();
  writeFileSync(path, `${id}\n`, { mode: 0o600 });
  return id;
}

/**
 * The data dir of Database Service worker `n` (2 and up; the first is the process that starts them,
 * on `data_dir` itself): a host id, joined identity and audit spool of its own.
 */
export function dbWorkerDataDir(dataDir: string, n: number): string {
  return join(dataDir, 'workers', String(n));
}

/** The worker numbers that have a data dir under `data_dir/workers`, in order. */
export function dbWorkerNumbers(dataDir: string): number[] {
  const dir = join(dataDir, 'workers');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /^[1-9][0-9]*$/.test(name))
    .map(Number)
    .sort((a, b) => a - b);
}
