// The machines a guide talks about, on this one: each a network namespace (its own loopback, so the
// guides' ports 443, 3025, 5432 and 4222 are free) with a private view of /etc, /var/lib, /tmp, /root
// and /usr/local (overlays whose writes land in the walk's directory, so the guides' paths, /etc/hosts
// included, are used as written and the machine itself is left alone) and an empty /run. Hosts are joined by veth pairs
// and find each other by the names the guides use, through each one's own /etc/hosts.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { trackCleanup, untrackCleanup } from '#libs/testing';
import type { RunResult } from '../support/cluster.js';

const OVERLAID = ['/etc', '/var/lib', '/tmp', '/root', '/usr/local'];
/** Commands of a guide get the PATH a root login has (also sudo's secure_path). */
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export interface WalkHost {
  name: string;
  addr: string;
  /** Runs a shell command line on the host, as root in /root, to completion. */
  run(command: string, opts?: { input?: string; timeoutMs?: number; env?: Record<string, string> }): Promise<RunResult>;
  /** Starts a long-running command line; its output accumulates in `log()`. */
  start(command: string): Background;
}

export interface Background {
  child: ChildProcess;
  log(): string;
  /** Waits for `pattern` in the output; fails with the output if the command exits or time runs out. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A set of hosts. `hostNames` maps each host to the names it answers to (written to every host's
 * /etc/hosts). Every host sees the walk's `shared` directory at /mnt: how files go from one host to
 * another (a user would copy them).
 */
export class WalkNetwork {
  readonly dir: string;
  readonly hosts = new Map<string, WalkHost>();
  private readonly holders: ChildProcess[] = [];
  private readonly namespaces: string[] = [];
  private readonly background = new Set<Background>();
  private readonly cleanup = () => this.removeSync();

  private constructor(dir: string) {
    this.dir = dir;
    trackCleanup(this.cleanup);
  }

  /** This machine as the hosts reach it, when `uplinkNames` asked for a link to it (else undefined). */
  uplinkAddr?: string;

  /**
   * `uplinkNames`: names the hosts reach on this machine, at `uplinkAddr` (services a test runs itself,
   * such as the AWS stand-ins, listening there).
   */
  static async create(hostNames: Record<string, string[]>, uplinkNames: string[] = []): Promise<WalkNetwork> {
    if (process.getuid?.() !== 0) throw new Error('the guide walk needs root (network namespaces, overlays), as CI runs it');
    // Not under /tmp: that is overlaid inside the hosts, and an overlay's upper dir cannot sit in its lower one.
    mkdirSync('/var/tmp', { recursive: true });
    const net = new WalkNetwork(mkdtempSync('/var/tmp/dbaccess-walk-'));
    try {
      const tag = `${process.pid % 10_000}${randomInt(100)}`;
      const names = Object.keys(hostNames);
      const subnet = `10.214.${randomInt(256)}`;
      const addrs = new Map(names.map((n, i) => [n, `${subnet}.${i + 1}`]));
      for (const [i, name] of names.entries()) {
        const ns = `walk-${tag}-${i}`;
        ip('netns', 'add', ns);
        net.namespaces.push(ns);
        ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
        // One bridge in the first host joins them all.
        if (i === 0) {
          ip('netns', 'exec', ns, 'ip', 'link', 'add', 'walk0', 'type', 'bridge');
          ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${addrs.get(name)}/24`, 'dev', 'walk0');
          ip('netns', 'exec', ns, 'ip', 'link', 'set', 'walk0', 'up');
        } else {
          const [a, b] = [`wk${tag}h${i}`, `wk${tag}b${i}`];
          ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
          ip('link', 'set', a, 'netns', ns);
          ip('link', 'set', b, 'netns', net.namespaces[0]!);
          ip('netns', 'exec', net.namespaces[0]!, 'ip', 'link', 'set', b, 'master', 'walk0');
          ip('netns', 'exec', net.namespaces[0]!, 'ip', 'link', 'set', b, 'up');
          ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${addrs.get(name)}/24`, 'dev', a);
          ip('netns', 'exec', ns, 'ip', 'link', 'set', a, 'up');
        }
      }
      if (uplinkNames.length) {
        // A veth pair from this machine to the bridge; deleting the namespace deletes both ends.
        const [a, b] = [`wk${tag}up`, `wk${tag}ub`];
        net.uplinkAddr = `${subnet}.254`;
        ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
        ip('link', 'set', b, 'netns', net.namespaces[0]!);
        ip('netns', 'exec', net.namespaces[0]!, 'ip', 'link', 'set', b, 'master', 'walk0');
        ip('netns', 'exec', net.namespaces[0]!, 'ip', 'link', 'set', b, 'up');
        ip('addr', 'add', `${net.uplinkAddr}/24`, 'dev', a);
        ip('link', 'set', a, 'up');
      }
      const hosts =
        names.map((n) => `${addrs.get(n)} ${n} ${hostNames[n]!.join(' ')}`).join('\n') +
        '\n' +
        (uplinkNames.length ? `${net.uplinkAddr} ${uplinkNames.join(' ')}\n` : '');
      for (const [i, name] of names.entries()) {
        net.hosts.set(name, await net.startHost(name, net.namespaces[i]!, addrs.get(name)!, hosts));
      }
    } catch (err) {
      net.removeSync();
      throw err;
    }
    return net;
  }

  host(name: string): WalkHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name} in this walk`);
    return host;
  }

  private async startHost(name: string, ns: string, addr: string, hosts: string): Promise<WalkHost> {
    const root = join(this.dir, name);
    const mounts = OVERLAID.map((dir) => {
      const up = join(root, 'up', dir);
      const work = join(root, 'work', dir);
      mkdirSync(up, { recursive: true });
      mkdirSync(work, { recursive: true });
      return `mount -t overlay overlay -o lowerdir=${dir},upperdir=${up},workdir=${work} ${dir}`;
    });
    const shared = join(this.dir, 'shared');
    mkdirSync(shared, { recursive: true });
    const setup = [
      ...mounts,
      `mount --bind ${shared} /mnt`,
      // A /run of its own, as a host boots with: the machine's PostgreSQL has its socket in this one.
      'mount -t tmpfs -o mode=755 tmpfs /run',
      // This host's name and the others', in place of the machine's own entries for them.
      `printf '127.0.0.1 localhost\\n::1 localhost\\n%s' '${hosts}' > /etc/hosts`,
      `echo ${name} > /etc/hostname && hostname ${name}`,
      'echo ready',
      'exec sleep infinity',
    ].join(' && ');
    const holder = spawn('ip', ['netns', 'exec', ns, 'unshare', '--mount', '--uts', '--propagation', 'private', 'bash', '-c', setup], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.holders.push(holder);
    let out = '';
    holder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    holder.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!out.includes('ready')) {
      if (holder.exitCode !== null || Date.now() > deadline) throw new Error(`host ${name} did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const pid = holder.pid!;
    const env = { PATH, HOME: '/root', LANG: 'C.UTF-8', TERM: 'dumb', USER: 'root', LOGNAME: 'root' };
    const argv = (command: string) => ['-t', String(pid), '-m', '-n', '-u', '--wdns=/root', '--', 'bash', '-c', command];
    const spawnOn = (command: string, extra: Record<string, string> = {}) =>
      spawn('nsenter', argv(command), { env: { ...env, ...extra }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    return {
      name,
      addr,
      run: (command, opts = {}) =>
        new Promise((resolve, reject) => {
          const child = spawnOn(command, opts.env);
          let stdout = '';
          let stderr = '';
          child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
          const timer = setTimeout(() => killGroup(child), opts.timeoutMs ?? 60_000);
          child.on('error', reject);
          child.on('close', (code, signal) => {
            clearTimeout(timer);
            resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
          });
          child.stdin!.on('error', () => undefined); // EPIPE when the command exits without reading its input; its exit code tells why
          child.stdin!.end(opts.input ?? '');
        }),
      start: (command) => {
        const child = spawnOn(command);
        child.stdin!.end();
        let log = '';
        child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
        child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
        const bg: Background = {
          child,
          log: () => log,
          async waitFor(pattern, timeoutMs) {
            const until = Date.now() + timeoutMs;
            for (;;) {
              const m = pattern.exec(log);
              if (m) return m[0];
              if (child.exitCode !== null || child.signalCode !== null)
                throw new Error(`'${command}' exited (${child.exitCode ?? child.signalCode}):\n${log}`);
              if (Date.now() > until) throw new Error(`'${command}' did not print ${pattern} in ${timeoutMs} ms:\n${log}`);
              await new Promise((r) => setTimeout(r, 100));
            }
          },
          stop: async () => {
            this.background.delete(bg);
            if (child.exitCode !== null || child.signalCode !== null) return;
            const exited = new Promise((r) => child.once('exit', r));
            killGroup(child, 'SIGTERM');
            const timer = setTimeout(() => killGroup(child), 10_000);
            await exited;
            clearTimeout(timer);
          },
        };
        this.background.add(bg);
        return bg;
      },
    };
  }

  async remove(): Promise<void> {
    for (const bg of [...this.background]) await bg.stop();
    this.removeSync();
  }

  private removeSync(): void {
    for (const bg of this.background) killGroup(bg.child);
    this.background.clear();
    for (const holder of this.holders) holder.kill('SIGKILL');
    for (const ns of this.namespaces) {
      try {
        // Deleting a namespace deletes the veth ends and the bridge in it.
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
    this.namespaces.length = 0;
    // The overlays went with their mount namespaces; their upper dirs are plain files now.
    rmSync(this.dir, { recursive: true, force: true });
    untrackCleanup(this.cleanup);
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // gone
  }
}
