// Two projects: `unit` needs only Node (npm test); `integration` needs moto and the
// golang-migrate CLI, which `npm run tools` installs (its globalSetup finds them and starts moto).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // see bin/cli-setup.ts
const transform = { '^.+\\.tsx?$': ['@swc/jest'] };
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.integration\\.test\\.ts$'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.integration.test.ts'],
      globalSetup: '<rootDir>/test/helpers/integration-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/integration-teardown.ts',
    },
  ],
};
