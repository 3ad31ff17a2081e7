import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';

// What a harness still owns while it runs. If the process exits before stop() released them,
// every process group is SIGKILLed, then every cleanup runs (synchronously: the process is ending).
// The registry lives on the real process object: Jest loads this module afresh for every test
// file, and one exit listener must serve them all.
const REGISTRY = Symbol.for('dbaccess.testing.exit-cleanup');

interface Registry {
  groups: Set<number>;
  cleanups: Set<() => void>;
}

/**
 * The process object of Node's main realm. Inside Jest a test sees a copy of `process` whose
 * 'exit' event never fires; EventEmitter comes from the main realm, so its Function constructor
 * evaluates in that realm and returns the real object. Outside Jest both are the same object.
 */
function realProcess(): NodeJS.Process & { [REGISTRY]?: Registry } {
  const MainRealmFunction = EventEmitter.constructor as FunctionConstructor;
  return new MainRealmFunction('return process')() as NodeJS.Process;
}

function registry(): Registry {
  const proc = realProcess();
  if (proc[REGISTRY]) return proc[REGISTRY];
  const created: Registry = { groups: new Set(), cleanups: new Set() };
  proc[REGISTRY] = created;
  proc.on('exit', () => {
    for (const pgid of created.groups) {
      try {
        proc.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const cleanup of created.cleanups) {
      try {
        cleanup();
      } catch {
        // nothing more can be done while exiting
      }
    }
  });
  return created;
}

export function trackGroup(pgid: number): void {
  registry().groups.add(pgid);
}

export function untrackGroup(pgid: number): void {
  registry().groups.delete(pgid);
}

export function trackCleanup(cleanup: () => void): void {
  registry().cleanups.add(cleanup);
}

export function untrackCleanup(cleanup: () => void): void {
  registry().cleanups.delete(cleanup);
}

/** Removes a temp dir; retries while a process that was just killed may still write into it. */
export function removeDirSync(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}
