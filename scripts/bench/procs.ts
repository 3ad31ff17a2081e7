// Child processes for the benchmark: short commands run to completion, long-running ones kept
// with their output, and everything stopped in reverse order at the end or on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment for libpq programs: this process's less every PG* variable, plus `env`. */
export function cleanEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG')));
  return { ...clean, LC_ALL: 'C', ...env };
}

/** Runs a command to completion; never rejects on the exit code. `onSpawn` sees the child (to stop it on Ctrl-C). */
export function runCommand(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<CommandResult> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    opts.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.stdin.on('error', () => undefined);
    child.on('close', (code, signal) => done({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** A long-running child whose stdout and stderr are kept in memory. */
export class LongRunning {
  /** Every one started, in order: stopAll() stops those still running, the last started first. */
  static readonly started: LongRunning[] = [];
  private text = '';
  readonly child: ChildProcess;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    opts: { env?: NodeJS.ProcessEnv; detached?: boolean } = {},
  ) {
    // Detached: a terminal's Ctrl-C reaches only this script, which then stops the children in order.
    this.child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? true });
    this.child.stdout!.on('data', (d: Buffer) => (this.text += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.text += d.toString()));
    this.child.on('error', (err) => (this.text += `\n${err.message}\n`));
    LongRunning.started.push(this);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  log(): string {
    return this.text;
  }

  /** Waits until the output contains `line` (or `ready()` holds); throws with the log if it exits or times out. */
  async waitFor(line: string, timeoutMs = 60_000, ready?: () => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(ready ? ready() : this.text.includes(line))) {
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}):\n${tail(this.text)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} was not ready within ${timeoutMs / 1000} s:\n${tail(this.text)}`);
      await sleep(100);
    }
  }

  /** `signal` to the process (its group when detached), SIGKILL to the group after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    if (!this.running || !this.child.pid) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    const pid = this.child.pid;
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        try {
          process.kill(pid, sig);
        } catch {
          // already gone
        }
      }
    };
    kill(signal);
    const timer = setTimeout(() => kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

export function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** CPU seconds a process has used so far (all threads), and those of its reaped children. */
export function cpuSeconds(pid: number | 'self', withChildren = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes the command name: state is field 3; utime 14, stime 15, cutime 16, cstime 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = (i: number) => Number(fields[i - 3] ?? 0);
    return (ticks(14) + ticks(15) + (withChildren ? ticks(16) + ticks(17) : 0)) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU seconds of a server and all its children, the exited ones (reaped) and the live ones. */
export function treeCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid, true);
  for (const child of childrenOf(pid)) total += cpuSeconds(child, true);
  return total;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** `pid` itself when its command is `comm`, else the first child that is (pgbouncer runs under runuser when we are root). */
export function processNamed(pid: number, comm: string): number {
  for (const candidate of [pid, ...childrenOf(pid)]) {
    try {
      if (readFileSync(`/proc/${candidate}/comm`, 'utf8').trim() === comm) return candidate;
    } catch {
      // gone
    }
  }
  return pid;
}

/** A field of /proc/<pid>/status in bytes: VmHWM (peak resident set size), VmRSS; 0 when gone. */
export function statusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`));
    return Number(/(\d+) kB/.exec(line ?? '')?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** The highest VmHWM of `pid` and its children (a Database Service and its workers): one process's peak. */
export function treePeakRssBytes(pid: number): number {
  return Math.max(statusBytes(pid, 'VmHWM'), ...childrenOf(pid).map((child) => statusBytes(child, 'VmHWM')));
}

/** resetPeakRss for `pid` and its children. */
export function resetTreePeakRss(pid: number): boolean {
  return [pid, ...childrenOf(pid)].map(resetPeakRss).every(Boolean);
}

/** How many processes `pid` is: itself and its children (a Database Service's workers). */
export function treeSize(pid: number): number {
  return 1 + childrenOf(pid).length;
}

/**
 * Lowers VmHWM to the current resident set size (`5` to /proc/<pid>/clear_refs, Linux 4.0+), so the
 * next reading is the peak of what follows. False when the kernel or permissions refuse.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds the whole machine has been busy (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal ...
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLK_TCK;
}

// Linux's USER_HZ: 100 on every architecture Debian ships.
const CLK_TCK = 100;

/** The nats-server listening on `port`, found in /proc (the harness does not expose its pid). */
export function natsPid(port: number): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('nats-server') && cmd.includes(String(port))) return Number(entry);
    } catch {
      // gone
    }
  }
  return 0;
}
