import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { reportFatal } from '../bin/cli-setup';
import { ConfigValidationError } from '../environments';

const ROOT = path.join(__dirname, '..');

/** Runs `script` in a fresh Node process after bin/cli-setup, as the bin/ entry points do. */
function runAfterSetup(script: string): { status: number | null; stderr: string } {
  const env = { ...process.env };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  const result = spawnSync(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-e', `require('./bin/cli-setup');\n${script}`],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env,
    },
  );
  return { status: result.status, stderr: result.stderr };
}

const PROBLEM = {
  field: 'staging.bot.cpu',
  value: 333,
  problem: 'Fargate has no such CPU size',
  fix: 'use 512',
};

describe('bin/cli-setup', () => {
  test('a config error reports its message alone, without stack frames', () => {
    const err = new ConfigValidationError([PROBLEM]);
    expect(reportFatal(err)).toBe(`${err.message}\n`);
    expect(reportFatal(err)).not.toMatch(/^\s+at /m);
  });

  test('any other error keeps its stack', () => {
    expect(reportFatal(new TypeError('boom'))).toMatch(/^TypeError: boom\n\s+at /);
  });

  test('a config error thrown while a CLI loads exits 1 printing only the message', () => {
    const { status, stderr } = runAfterSetup(
      `const { ConfigValidationError } = require('./environments/validate');
       throw new ConfigValidationError([${JSON.stringify(PROBLEM)}]);`,
    );
    expect(status).toBe(1);
    expect(stderr).toBe(
      'Invalid environment configuration (1 problem):\n' +
        '  - staging.bot.cpu = 333: Fargate has no such CPU size. Fix: use 512\n',
    );
  });

  test("silences only the AWS SDK's Node-version warning; other warnings still print", () => {
    const { status, stderr } = runAfterSetup(
      `require('@aws-sdk/core/client').emitWarningIfUnsupportedVersion('v20.0.0');
       process.emitWarning('another warning');`,
    );
    expect(status).toBe(0);
    expect(stderr).not.toContain('NodeVersionSupportWarning');
    expect(stderr).toContain('another warning');
  });
});
