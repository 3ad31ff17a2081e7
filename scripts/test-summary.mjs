// Prints the closing line of `npm test` from what scripts/jest-counts-reporter.mjs wrote for each Jest
// run: "tests: N passed, N failed". A run that wrote nothing (Jest itself stopped) counts as a failure.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
const failures = [];
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    failed++;
    failures.push(`${file}: no results (the Jest run stopped before it reported)`);
    continue;
  }
  const counts = JSON.parse(readFileSync(file, 'utf8'));
  passed += counts.passed;
  failed += counts.failed + counts.suitesThatCouldNotRun;
  failures.push(...counts.failures);
}
if (failures.length) console.log(`failed:\n${failures.map((f) => `  ${f}`).join('\n')}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
