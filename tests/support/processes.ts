import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The processes `pid` started (its workers), from /proc. */
export function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** `probe`'s first answer that is not undefined, asked every 200 ms for up to `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Established TCP connections of this host matching an `ss` filter, with the process holding each. */
function connections(filter: string): Array<{ pid: number; localPort: number; peerPort: number }> {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', filter], { encoding: 'utf8' });
  return out.split('\n').flatMap((line) => {
    const m = /\S+:(\d+)\s+\S+:(\d+)\s+users:.*?pid=(\d+)/.exec(line);
    return m ? [{ localPort: Number(m[1]), peerPort: Number(m[2]), pid: Number(m[3]) }] : [];
  });
}

/** The connections accepted on `port` of this host, by the process holding each (its peer's port too). */
export function acceptedConnections(port: number): Array<{ pid: number; peerPort: number }> {
  return connections(`( sport = :${port} )`);
}

/** The connections to `port` of this host, by the process that dialed each (its own port too). */
export function dialedConnections(port: number): Array<{ pid: number; localPort: number }> {
  return connections(`( dport = :${port} )`);
}
