import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';

// What a harness still owns while it runs. If the process exits before stop() released them,
// every process group is SIGKILLed, then every cleanup runs (synchronously: the process is ending).
const groups = new Set<number>();
const cleanups = new Set<() => void>();
let hooked = false;

/**
 * The process object of Node's main realm. Inside Jest a test sees a copy of `process` whose
 * 'exit' event never fires; EventEmitter comes from the main realm, so its Function constructor
 * evaluates in that realm and returns the real object. Outside Jest both are the same object.
 */
function realProcess(): NodeJS.Process {
  const MainRealmFunction = EventEmitter.constructor as FunctionConstructor;
  return new MainRealmFunction('return process')() as NodeJS.Process;
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  const proc = realProcess();
  proc.on('exit', () => {
    for (const pgid of groups) {
      try {
        proc.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const cleanup of cleanups) {
      try {
        cleanup();
      } catch {
        // nothing more can be done while exiting
      }
    }
  });
}

export function trackGroup(pgid: number): void {
  hook();
  groups.add(pgid);
}

export function untrackGroup(pgid: number): void {
  groups.delete(pgid);
}

export function trackCleanup(cleanup: () => void): void {
  hook();
  cleanups.add(cleanup);
}

export function untrackCleanup(cleanup: () => void): void {
  cleanups.delete(cleanup);
}

/** Removes a temp dir; retries while a process that was just killed may still write into it. */
export function removeDirSync(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}
