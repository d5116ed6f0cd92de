// Two projects: `unit` needs only Node (npm test); `integration` needs moto and the
// golang-migrate CLI, which `npm run tools` installs (its globalSetup finds them and starts moto).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // see bin/cli-setup.ts
const os = require('node:os');
const path = require('node:path');
/** $CLEVER_BETTER_JEST_CACHE, else $XDG_CACHE_HOME/clever-better-jest, else ~/.cache/clever-better-jest. */
const cacheDirectory =
  process.env.CLEVER_BETTER_JEST_CACHE ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'clever-better-jest');
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.tsx?$': ['@swc/jest'] },
  roots: ['<rootDir>/test'],
  // Outside the clone, like the tools (scripts/tools.sh): a second clone or CI run reuses the swc
  // transforms and jest's timings, which schedule the slowest files first (cold, jest can only go
  // by file size). Not /tmp/jest_<uid>: a run leaves nothing in the shared temporary directory.
  cacheDirectory,
};
module.exports = {
  // Both cores: jest's default (cores - 1) runs one worker on a 2-core machine, and the suite is
  // mostly synthesis and PostgreSQL waits, which overlap well.
  maxWorkers: 2,
  projects: [
    {
      displayName: 'unit',
      ...common,
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.integration\\.test\\.ts$'],
      globalSetup: '<rootDir>/test/helpers/unit-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/unit-teardown.ts',
    },
    {
      displayName: 'integration',
      ...common,
      testMatch: ['**/*.integration.test.ts'],
      globalSetup: '<rootDir>/test/helpers/integration-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/integration-teardown.ts',
    },
  ],
};
