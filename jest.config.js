// Jest in ESM mode (NODE_OPTIONS=--experimental-vm-modules): ts-jest compiles TypeScript as ESM and
// `#libs/<name>` resolves to the library's source, as the `development` import condition does for tsc.
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^#libs/(.*)$': '<rootDir>/libs/$1/src/index.ts',
    '^#services/(.*)$': '<rootDir>/services/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
};

export default {
  // Jest reads testTimeout only here, not per project; integration tests start real servers.
  testTimeout: 120_000,
  // npm test (scripts/test.sh) takes its closing line's counts from this reporter's file.
  reporters: process.env.JEST_COUNTS_FILE ? ['default', '<rootDir>/scripts/jest-counts-reporter.mjs'] : ['default'],
  projects: [
    {
      ...common,
      displayName: 'unit',
      // tests/kubernetes reads manifests and starts nothing; web/ holds the web UI's pure logic.
      testMatch: ['<rootDir>/{libs,services,cli,web}/**/*.spec.ts', '<rootDir>/tests/kubernetes/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/tests/**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/tests/docker/'],
    },
    {
      // A real Docker engine: images built, docker-compose.yml brought up. Run alone, after the others.
      ...common,
      displayName: 'docker',
      testMatch: ['<rootDir>/tests/docker/**/*.test.ts'],
    },
  ],
};
