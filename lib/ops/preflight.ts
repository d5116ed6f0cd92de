import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { EnvironmentConfig } from '../../environments/types';
import { registerCommand } from './commands';
import { unusableCredentials } from './context';
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
    ctx.print(
      `preflight ${ctx.env.name} (${ctx.env.stackName}, account ${ctx.env.account}, ${ctx.env.region})`,
    );
    const clients = preflightDeps.clients(env);
    // Credentials before the synthesis: without them every check fails alike, and a person should
    // not wait for a synth to learn it. Any other answer is the account check's to report.
    try {
      await clients.sts.send(new GetCallerIdentityCommand({}));
    } catch (err) {
      if (unusableCredentials(err)) throw err;
    }
    if (assembly === undefined)
      ctx.print(
        'synthesizing the app to read what its templates need (--assembly <dir> reads a cdk synth output)…',
      );
    const facts = templateFacts(env, assembly);
    const results = await runPreflight({ env, names: ctx.names, facts }, clients);
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
