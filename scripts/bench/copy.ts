// COPY through a path with psql, as bulk loads and dumps use it: `COPY ... FROM STDIN` of generated rows,
// then `COPY ... TO STDOUT` read and discarded.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cleanEnv, tail } from './procs.js';

export const COPY_TABLE = 'copy_bench';
/** Unlogged: no WAL, so the database's disk is less of the bottleneck and the paths differ by what they add. */
export const CREATE_COPY_TABLE = `CREATE UNLOGGED TABLE ${COPY_TABLE} (id bigint NOT NULL, note text NOT NULL)`;

export interface CopyTarget {
  conninfo: string;
  env: NodeJS.ProcessEnv;
}

export interface CopyTransfer {
  bytes: number;
  rows: number;
  seconds: number;
}

const NOTE = 'the quick brown fox jumps over the lazy dog; '.repeat(4).trim();
const CHUNK_TARGET = 1 << 20;

/** About 1 MiB of rows of about 200 bytes in COPY's text format (`<id>\t<note>\n`), written again and again. */
function rowsChunk(): { chunk: Buffer; rows: number } {
  const lines: string[] = [];
  let size = 0;
  while (size < CHUNK_TARGET) {
    const line = `${1_000_000 + lines.length}\t${NOTE}\n`;
    lines.push(line);
    size += Buffer.byteLength(line);
  }
  return { chunk: Buffer.from(lines.join('')), rows: lines.length };
}

function psql(bin: string, target: CopyTarget, sql: string, quiet: boolean, onSpawn: (c: ChildProcess) => void): ChildProcess {
  const args = ['-X', ...(quiet ? ['-q'] : []), '-v', 'ON_ERROR_STOP=1', '-c', sql, target.conninfo];
  const child = spawn(bin, args, { env: cleanEnv(target.env), stdio: ['pipe', 'pipe', 'pipe'] });
  onSpawn(child);
  return child;
}

async function finished(child: ChildProcess, stderr: () => string, what: string): Promise<void> {
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`psql ${what} exited with ${code}:\n${tail(stderr(), 10)}`);
}

/** `COPY copy_bench FROM STDIN` of at least `bytes` (whole chunks); checks the row count psql reports. */
export async function copyIn(bin: string, target: CopyTarget, bytes: number, onSpawn: (c: ChildProcess) => void): Promise<CopyTransfer> {
  const { chunk, rows: rowsPerChunk } = rowsChunk();
  const chunks = Math.max(1, Math.ceil(bytes / chunk.length));
  const start = performance.now();
  const child = psql(bin, target, `COPY ${COPY_TABLE} FROM STDIN`, false, onSpawn);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = finished(child, () => stderr, 'COPY FROM STDIN');
  const exited = done.then(
    () => 'exited',
    () => 'exited',
  );
  child.stdin!.on('error', () => undefined); // psql gone: `done` says why
  for (let i = 0; i < chunks; i++) {
    if (child.stdin!.write(chunk)) continue;
    const drained = once(child.stdin!, 'drain').then(
      () => 'drained',
      () => 'exited',
    );
    if ((await Promise.race([drained, exited])) === 'exited') break;
  }
  child.stdin!.end();
  await done;
  const seconds = (performance.now() - start) / 1000;
  const rows = chunks * rowsPerChunk;
  const reported = Number(/^COPY (\d+)$/m.exec(stdout)?.[1]);
  if (reported !== rows) throw new Error(`COPY FROM STDIN loaded ${reported} rows, not ${rows}: ${stdout.trim()}`);
  return { bytes: chunks * chunk.length, rows, seconds };
}

/** `COPY copy_bench TO STDOUT`, read and discarded; checks that as many bytes came back as went in. */
export async function copyOut(
  bin: string,
  target: CopyTarget,
  loaded: CopyTransfer,
  onSpawn: (c: ChildProcess) => void,
): Promise<CopyTransfer> {
  const start = performance.now();
  const child = psql(bin, target, `COPY ${COPY_TABLE} TO STDOUT`, true, onSpawn);
  let bytes = 0;
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (bytes += d.length));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin!.end();
  await finished(child, () => stderr, 'COPY TO STDOUT');
  const seconds = (performance.now() - start) / 1000;
  if (bytes !== loaded.bytes) throw new Error(`COPY TO STDOUT returned ${bytes} bytes, not the ${loaded.bytes} loaded`);
  return { bytes, rows: loaded.rows, seconds };
}
