import { connect } from 'node:net';
import { ServerStartError } from './errors.js';
import { sleep, type ServerProcess } from './server-process.js';

const POLL_MS = 50;

export type StartOutcome = 'ready' | 'port-taken';

/**
 * Polls until `ready()` holds. 'port-taken' when the process exited with a log matching
 * `portTaken` (another process bound the port first); any other exit, or no readiness within
 * `timeoutMs`, kills the process group and throws with the log tail.
 */
export async function awaitStart(
  proc: ServerProcess,
  opts: { name: string; timeoutMs: number; portTaken: RegExp; ready(): Promise<boolean> },
): Promise<StartOutcome> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (proc.hasExited) {
      if (opts.portTaken.test(proc.log())) return 'port-taken';
      throw new ServerStartError(`${opts.name} exited before it was ready; log tail:\n${proc.logTail()}`);
    }
    if (await opts.ready()) return 'ready';
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL', 0);
      throw new ServerStartError(`${opts.name} was not ready within ${opts.timeoutMs / 1000} s; log tail:\n${proc.logTail()}`);
    }
    await sleep(POLL_MS);
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
