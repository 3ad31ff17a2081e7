// npm test's closing line (scripts/test-summary.mjs): "tests: N passed, N failed" from each Jest run's
// counts, the failures named above it, a run that reported nothing counted as failed; and the exit code.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../scripts/test-summary.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dbaccess-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function counts(name: string, value: { passed: number; failed: number; suitesThatCouldNotRun: number; failures: string[] }): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

const summary = (files: string[]) => spawnSync(process.execPath, [SCRIPT, ...files], { encoding: 'utf8' });

it('adds up the runs and exits 0 when nothing failed', () => {
  const out = summary([
    counts('unit.json', { passed: 800, failed: 0, suitesThatCouldNotRun: 0, failures: [] }),
    counts('integration.json', { passed: 250, failed: 0, suitesThatCouldNotRun: 0, failures: [] }),
  ]);
  expect(out.stdout).toBe('tests: 1050 passed, 0 failed\n');
  expect(out.status).toBe(0);
});

it('names each failure, counts suites that could not run, and exits 1', () => {
  const out = summary([
    counts('unit-failed.json', { passed: 799, failed: 1, suitesThatCouldNotRun: 0, failures: ['libs/a.spec.ts: a breaks'] }),
    counts('integration-crashed.json', {
      passed: 10,
      failed: 0,
      suitesThatCouldNotRun: 1,
      failures: ['tests/b.test.ts: Cannot find module'],
    }),
  ]);
  expect(out.stdout).toBe('failed:\n  libs/a.spec.ts: a breaks\n  tests/b.test.ts: Cannot find module\ntests: 809 passed, 2 failed\n');
  expect(out.status).toBe(1);
});

it('counts a run that reported nothing (Jest itself stopped) as a failure', () => {
  const missing = join(dir, 'never-written.json');
  const out = summary([counts('unit-ok.json', { passed: 5, failed: 0, suitesThatCouldNotRun: 0, failures: [] }), missing]);
  expect(out.stdout).toContain(`${missing}: no results (the Jest run stopped before it reported)`);
  expect(out.stdout).toMatch(/tests: 5 passed, 1 failed\n$/);
  expect(out.status).toBe(1);
});
