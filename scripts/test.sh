#!/usr/bin/env bash
# npm test: installs what is missing, builds, checks formatting and types, runs the unit then the
# integration tests, and always ends with one line, "tests: N passed, N failed", whatever failed on
# the way. Exits non-zero if anything did. Arguments go to both Jest runs (e.g. -t 'a test name').
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Nothing can be tested without these; the closing line says so rather than nothing.
bash scripts/ensure-deps.sh --tests || { echo "tests: 0 passed, 1 failed (installing what the tests need failed: nothing was tested)"; exit 1; }
npm run build || { echo "tests: 0 passed, 1 failed (the build failed: nothing was tested)"; exit 1; }
status=0
npm run lint || status=1
mkdir -p .tmp
rm -f .tmp/jest-unit.json .tmp/jest-integration.json .tmp/jest-docker.json
# Counts come from our reporter (jest.config.js adds it when JEST_COUNTS_FILE is set), not from Jest's
# --json, which can fail serializing a failed test's error and then reports nothing.
JEST_COUNTS_FILE=.tmp/jest-unit.json npm run test:unit -- "$@" || status=1
JEST_COUNTS_FILE=.tmp/jest-integration.json npm run test:integration -- "$@" || status=1
# docker-compose.yml with a real Docker engine (tests/docker): alone, as it loads the whole machine.
JEST_COUNTS_FILE=.tmp/jest-docker.json npm run test:docker -- "$@" || status=1
node scripts/test-summary.mjs .tmp/jest-unit.json .tmp/jest-integration.json .tmp/jest-docker.json || status=1
exit "$status"
