import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { trackCleanup, untrackCleanup } from '#libs/testing';

/**
 * Another host for a test: a network namespace of its own, joined to this one by a veth pair with
 * addresses the test picks (a /30 in 10.213.0.0/16). From inside, this host is `hostAddr` and nothing
 * else: its loopback services (NATS, the machine's own PostgreSQL) are out of reach. Needs root.
 */
export interface TestHost {
  name: string;
  /** This host, as the namespace reaches it. */
  hostAddr: string;
  /** The namespace, as this host reaches it. */
  nsAddr: string;
  /** Runs a command inside the namespace. */
  spawn(command: string, args: string[], opts?: { env?: NodeJS.ProcessEnv }): ChildProcess;
  /** Runs a command inside the namespace to completion; its stdout. */
  run(command: string, args: string[]): string;
  remove(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export function createTestHost(): TestHost {
  if (process.getuid?.() !== 0)
    throw new Error('a test host (network namespace) needs root: run the integration tests as root, as CI does');
  const tag = `${process.pid % 10_000}${randomInt(100)}`;
  const name = `dbaccess-${tag}`;
  const [outside, inside] = [`dbx${tag}a`, `dbx${tag}b`];
  const net = `10.213.${randomInt(256)}.${4 * randomInt(64)}`;
  const base = net.split('.').map(Number);
  const at = (n: number) => `${base[0]}.${base[1]}.${base[2]}.${base[3]! + n}`;
  const remove = () => {
    // Deleting the namespace deletes its end of the pair, and with it this one.
    try {
      ip('netns', 'del', name);
    } catch {
      // already gone
    }
    untrackCleanup(remove);
  };
  trackCleanup(remove);
  try {
    ip('netns', 'add', name);
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', name);
    ip('addr', 'add', `${at(1)}/30`, 'dev', outside);
    ip('link', 'set', outside, 'up');
    ip('netns', 'exec', name, 'ip', 'addr', 'add', `${at(2)}/30`, 'dev', inside);
    ip('netns', 'exec', name, 'ip', 'link', 'set', inside, 'up');
    ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    remove();
    throw err;
  }
  return {
    name,
    hostAddr: at(1),
    nsAddr: at(2),
    spawn: (command, args, opts = {}) =>
      spawn('ip', ['netns', 'exec', name, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } }),
    run: (command, args) => ip('netns', 'exec', name, command, ...args),
    remove,
  };
}
