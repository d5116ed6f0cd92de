import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { EnvironmentConfig } from '../../environments/types';
import { registerCommand } from './commands';
import { CheckResult, PreflightClients, runPreflight } from './preflight-checks';
import { templateFacts } from './template-facts';

/** One client per service preflight reads, all with `config` (region, and in tests an endpoint). */
export function preflightClients(config: {
  readonly region: string;
  /** An emulator's endpoint (tests). @default AWS */
  readonly endpoint?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The SDK's attempts per call. @default the SDK's (3) */
  readonly maxAttempts?: number;
}): PreflightClients {
  return {
    sts: new STSClient(config),
    cloudformation: new CloudFormationClient(config),
    lambda: new LambdaClient(config),
    iam: new IAMClient(config),
    serviceQuotas: new ServiceQuotasClient(config),
    ecr: new ECRClient(config),
    secrets: new SecretsManagerClient(config),
    sns: new SNSClient(config),
    ssm: new SSMClient(config),
  };
}

/** Real clients in the environment's region (IAM is global; the SDK routes it). */
export function awsPreflightClients(env: EnvironmentConfig): PreflightClients {
  return preflightClients({ region: env.region });
}

/** One line per check: `PASS|FAIL|SKIP name: detail`, then `fix: …` under a failure or skip. */
export function formatResult(r: CheckResult): string[] {
  const lines = [`${r.status.toUpperCase().padEnd(4)} ${r.name}: ${r.detail}`];
  if (r.fix && r.status !== 'pass') lines.push(`     fix: ${r.fix}`);
  return lines;
}

/** Replaceable in tests: which clients the command uses. */
export const preflightDeps = { clients: awsPreflightClients };

/**
 * Read-only checks before a deploy (locally and in deploy-stack.yml before `cdk deploy`): what a
 * first deploy on a new account fails on, each with its fix. Exit 1 when any check fails.
 */
registerCommand('preflight', {
  usage:
    'preflight --env <env> [--assembly <dir>]   read-only checks before a deploy (account, bootstrap, quotas, roles, and every image, secret, parameter and import the synthesized templates read; protection; subscriptions); --assembly reads an existing cdk synth output',
  options: { assembly: 'value' },
  notLocal: 'preflight checks an AWS account before a deploy, and the stand-in is never deployed',
  async run(args, ctx) {
    const env = ctx.env;
    // main() refuses --env local first (notLocal); this narrows the type.
    if (env.name === 'local') throw new Error('preflight has no local environment');
    const assembly = typeof args.options.assembly === 'string' ? args.options.assembly : undefined;
    const facts = templateFacts(env, assembly);
    ctx.print(
      `preflight ${ctx.env.name} (${ctx.env.stackName}, account ${ctx.env.account}, ${ctx.env.region})`,
    );
    const results = await runPreflight({ env, names: ctx.names, facts }, preflightDeps.clients(env));
    for (const r of results) for (const line of formatResult(r)) ctx.print(line);
    const failed = results.filter((r) => r.status === 'fail');
    ctx.print(
      failed.length === 0
        ? `preflight passed (${results.filter((r) => r.status === 'skip').length} skipped until after the first deploy)`
        : `preflight failed: ${failed.map((r) => r.name).join(', ')}`,
    );
    return failed.length === 0 ? 0 : 1;
  },
});
