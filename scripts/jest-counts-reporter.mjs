// A Jest reporter that writes what `npm test`'s closing line needs to $JEST_COUNTS_FILE: the counts and
// the names of what failed. Only numbers and strings, so writing it cannot fail on a circular error.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';

export default class CountsReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.JEST_COUNTS_FILE;
    if (!file) return;
    const failed = results.testResults.flatMap((suite) => {
      const path = relative(process.cwd(), suite.testFilePath);
      return [
        ...(suite.testExecError ? [`${path}: ${suite.testExecError.message ?? 'the suite could not run'}`] : []),
        ...suite.testResults.filter((t) => t.status === 'failed').map((t) => `${path}: ${t.fullName}`),
      ];
    });
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      suitesThatCouldNotRun: results.numRuntimeErrorTestSuites,
      failures: failed,
    };
    writeFileSync(file, JSON.stringify(counts, null, 2));
  }
}
