import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EnvironmentConfig } from '../../environments/types';
import { registerCommand } from './commands';
import { UsageError } from './context';
import { setConfigValue } from './pin';

/** Replaceable in tests: the CloudFormation client and the file `stackCreated` is written to. */
export const protectDeps = {
  cloudformation: (env: EnvironmentConfig) => new CloudFormationClient({ region: env.region }),
  file: (env: EnvironmentConfig) => path.join(__dirname, '..', '..', 'environments', `${env.name}.ts`),
};

/** Stack states after which the stack exists and holds its resources: protection may turn on. */
export const CREATED_STATES = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_COMPLETE',
]);

/**
 * After the stack's first create: checks that CloudFormation created it, then writes
 * `stackCreated: true` into `environments/<env>.ts`, so the next deploy (a pull request) turns on
 * the termination and deletion protection the environment asks for (lib/deletion-protection.ts).
 */
registerCommand('protect', {
  usage:
    'protect --env <env>   after the first create of the stack: write stackCreated: true into environments/<env>.ts, so the next deploy turns on termination and deletion protection',
  options: {},
  notLocal: 'protection is for a deployed stack; the stand-in is never deployed',
  async run(_args, ctx) {
    if (ctx.env.name === 'local')
      throw new UsageError('protect is for a deployed environment; the local stand-in is never deployed');
    const env = ctx.env as EnvironmentConfig;
    let status: string | undefined;
    try {
      const res = await protectDeps
        .cloudformation(env)
        .send(new DescribeStacksCommand({ StackName: env.stackName }));
      status = res.Stacks?.[0]?.StackStatus;
    } catch (err) {
      if (!/does not exist/.test((err as Error).message)) throw err;
    }
    if (!status || !CREATED_STATES.has(status)) {
      ctx.print(
        `${env.stackName} in account ${env.account} is ${status ?? 'not there'}: protection turns on only ` +
          `after a successful create (docs/first-deploy.md). Nothing written.`,
      );
      return 1;
    }
    if (env.stackCreated) {
      ctx.print(
        `environments/${env.name}.ts already says stackCreated: true (${env.stackName} is ${status})`,
      );
      return 0;
    }
    const file = protectDeps.file(env);
    fs.writeFileSync(file, setConfigValue(fs.readFileSync(file, 'utf8'), ['stackCreated'], 'true'));
    ctx.print(`${path.relative(process.cwd(), file)}: stackCreated: true (${env.stackName} is ${status})`);
    ctx.print(
      `Next: git checkout -b protect/${env.name} && npm run compliance && git commit -am "${env.name}: stack created, turn on protection" ` +
        '&& open a pull request; its deploy turns on termination and deletion protection (npm run compliance ' +
        'updates docs/compliance.md, which lists the protection exceptions this removes).',
    );
    return 0;
  },
});
