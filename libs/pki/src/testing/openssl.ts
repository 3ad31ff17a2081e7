import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `openssl verify -CAfile <ca> [-purpose p] <cert>`: its output, or its error output when it refuses. */
export function opensslVerify(caPem: string, certPem: string, purpose?: 'sslserver' | 'sslclient'): string {
  const dir = mkdtempSync(join(tmpdir(), 'pki-spec-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), caPem);
    writeFileSync(join(dir, 'cert.pem'), certPem);
    const purposeArgs = purpose ? ['-purpose', purpose] : [];
    const args = ['verify', '-CAfile', join(dir, 'ca.pem'), ...purposeArgs, join(dir, 'cert.pem')];
    return execFileSync('openssl', args, { encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    return `FAILED: ${stdout ?? ''}${stderr ?? ''}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl x509 -noout <args>` over the certificate on stdin. */
export function opensslX509(certPem: string, args: string[]): string {
  return execFileSync('openssl', ['x509', '-noout', ...args], { input: certPem, encoding: 'utf8' });
}

/** A shell pipeline fed the certificate on stdin. */
export function shell(command: string, input: string): string {
  return execSync(command, { input, encoding: 'utf8', shell: '/bin/bash' });
}
