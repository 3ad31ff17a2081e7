import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { trackGroup, untrackGroup } from './exit-cleanup.js';

/**
 * A long-running child in its own process group, stdout and stderr appended to a log file.
 * The group lets one signal reach wrappers such as runuser and the server they started.
 */
export class ServerProcess {
  readonly pid: number;
  readonly exited: Promise<void>;
  /** Size of the log file when this process started: its own output begins there. */
  readonly logOffset: number;
  private done = false;
  private spawnError: Error | undefined;

  constructor(
    command: string,
    args: string[],
    readonly opts: { cwd: string; logFile: string; env?: NodeJS.ProcessEnv },
  ) {
    const fd = openSync(opts.logFile, 'a');
    this.logOffset = statSync(opts.logFile).size;
    try {
      const child = spawn(command, args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
      if (child.pid === undefined) throw new Error(`could not spawn ${command}`);
      this.pid = child.pid;
      trackGroup(this.pid);
      this.exited = new Promise((resolve) => {
        child.once('error', (err) => {
          this.spawnError = err;
        });
        child.once('exit', () => {
          this.done = true;
          untrackGroup(this.pid);
          resolve();
        });
      });
      child.unref();
    } finally {
      closeSync(fd);
    }
  }

  get hasExited(): boolean {
    return this.done;
  }

  /** This process's log output, or why it could not be spawned. */
  log(): string {
    const text = readFileSync(this.opts.logFile).subarray(this.logOffset).toString('utf8');
    return this.spawnError ? `${text}${this.spawnError.message}\n` : text;
  }

  logTail(lines = 25): string {
    return this.log().trimEnd().split('\n').slice(-lines).join('\n');
  }

  /**
   * Sends `signal` to `pid` (the group leader unless given) and waits up to `graceMs` for the
   * group leader to exit; then SIGKILLs the whole group.
   */
  async stop(signal: NodeJS.Signals, graceMs: number, pid = this.pid): Promise<void> {
    if (this.done) return;
    signalQuietly(pid, signal);
    const timer = delay(graceMs);
    await Promise.race([this.exited, timer.promise]);
    timer.cancel();
    if (!this.done) {
      signalQuietly(-this.pid, 'SIGKILL');
      await this.exited;
    }
  }
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone
  }
}

function delay(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
