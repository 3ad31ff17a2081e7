// Running the tools as on a workstation away from the auth host: no teleport.yaml (-c), no
// `tsh login` profile, only an identity file and the proxy's address.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { run, type RunResult, type TestCluster } from './cluster.js';

const execFileAsync = promisify(execFile);

/** A fresh, empty TELEPORT_HOME inside the cluster's temp dir: no profile to fall back on. */
function emptyHome(cluster: TestCluster): string {
  return mkdtempSync(join(cluster.dir, 'home-'));
}

/** `tctl -i <identity> --auth-server=<proxy> ...args` with nothing else to go on. */
export function tctlElsewhere(cluster: TestCluster, identityFile: string, args: string[]): Promise<RunResult> {
  return run('tctl', ['-i', identityFile, `--auth-server=${cluster.proxyAddr}`, ...args], { env: { TELEPORT_HOME: emptyHome(cluster) } });
}

/** `tsh -i <identity> --proxy=<proxy> ...args` with nothing else to go on. */
export function tshElsewhere(cluster: TestCluster, identityFile: string, args: string[]): Promise<RunResult> {
  return run('tsh', ['-i', identityFile, `--proxy=${cluster.proxyAddr}`, ...args], { env: { TELEPORT_HOME: emptyHome(cluster) } });
}

/** Runs the openssl CLI; rejects with its stderr when it exits non-zero. */
export async function openssl(args: string[], cwd?: string): Promise<string> {
  const { stdout } = await execFileAsync('openssl', args, { cwd });
  return stdout;
}

/** A CLI failure as our tools report it: exit code 1, nothing on stdout, one `ERROR: ` line on stderr. */
export function expectCliError(result: RunResult, message: string | RegExp): void {
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: '' });
  expect(result.stderr.split('\n')).toHaveLength(2); // one line and its newline
  if (typeof message === 'string') expect(result.stderr).toBe(`ERROR: ${message}\n`);
  else expect(result.stderr).toMatch(message);
}

/** A command that worked: exit code 0 and nothing on stderr; returns stdout. */
export function expectOk(result: RunResult): string {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return result.stdout;
}
