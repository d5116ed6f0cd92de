import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  Stack,
} from '@aws-sdk/client-cloudformation';
import { readTopicSubscriptions, subscriptionProblem } from './subscriptions';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  GetAccountSettingsCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { EnvironmentConfig } from '../../environments/types';
import { registryStackName } from '../app';
import { RunbookNames } from '../names';
import { TemplateFacts } from './template-facts';
import { unusableCredentials } from './context';

/** Outcome of one check. `skip` means not applicable yet (e.g. before the first deploy); it does not fail. */
export interface CheckResult {
  readonly name: string;
  readonly status: 'pass' | 'fail' | 'skip';
  /** What was found. */
  readonly detail: string;
  /** What to do, on fail or skip. */
  readonly fix?: string;
}

/** The SDK clients preflight reads with, one per service; tests point them at moto or mocks. */
export interface PreflightClients {
  readonly sts: STSClient;
  readonly cloudformation: CloudFormationClient;
  readonly lambda: LambdaClient;
  readonly iam: IAMClient;
  readonly serviceQuotas: ServiceQuotasClient;
  readonly ecr: ECRClient;
  readonly secrets: SecretsManagerClient;
  readonly sns: SNSClient;
}

/** Everything the checks read besides AWS. */
export interface PreflightInput {
  readonly env: EnvironmentConfig;
  readonly names: RunbookNames;
  readonly facts: TemplateFacts;
}

/** Lambda keeps this much of the account's concurrency unreserved; a reservation below it is refused. */
export const MIN_UNRESERVED_CONCURRENCY = 100;
/** Service Quotas code of "Fargate On-Demand vCPU resource count". */
export const FARGATE_VCPU_QUOTA = { ServiceCode: 'fargate', QuotaCode: 'L-3032A538' } as const;
/** Service-linked roles a first ECS deploy needs, with the service that creates each. */
export const SERVICE_LINKED_ROLES = [
  { role: 'AWSServiceRoleForECS', service: 'ecs.amazonaws.com' },
  {
    role: 'AWSServiceRoleForApplicationAutoScaling_ECSService',
    service: 'ecs.application-autoscaling.amazonaws.com',
  },
] as const;
/** Values the stack writes into the Betfair secret until a person sets the real ones. */
export const PLACEHOLDER = 'REPLACE_ME';

const errorName = (err: unknown) => (err as { name?: string }).name ?? '';
const message = (err: unknown) => `${errorName(err)}: ${(err as Error).message}`;

async function describeStack(cfn: CloudFormationClient, name: string): Promise<Stack | undefined> {
  try {
    return (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
  } catch (err) {
    if (/does not exist/.test((err as Error).message)) return undefined;
    throw err;
  }
}

/** 1. The credentials belong to the environment's account. */
export async function checkAccount(input: PreflightInput, c: PreflightClients): Promise<CheckResult> {
  const name = 'account';
  const { Account, Arn } = await c.sts.send(new GetCallerIdentityCommand({}));
  if (Account === input.env.account)
    return { name, status: 'pass', detail: `credentials are ${Arn} in ${Account}` };
  return {
    name,
    status: 'fail',
    detail: `credentials are for account ${Account} (${Arn}), ${input.env.name} is ${input.env.account}`,
    fix: `use credentials of account ${input.env.account} (e.g. AWS_PROFILE), or correct account in environments/${input.env.name}.ts`,
  };
}

/** 2. The CDK bootstrap stack exists and is recent enough for this app's assets. */
export async function checkBootstrap(input: PreflightInput, c: PreflightClients): Promise<CheckResult> {
  const name = 'cdk bootstrap';
  const fix = `npx cdk bootstrap aws://${input.env.account}/${input.env.region}`;
  const required = input.facts.requiredBootstrapVersion;
  const stack = await describeStack(c.cloudformation, 'CDKToolkit');
  if (!stack) return { name, status: 'fail', detail: 'stack CDKToolkit does not exist', fix };
  const version = Number(stack.Outputs?.find((o) => o.OutputKey === 'BootstrapVersion')?.OutputValue);
  if (!Number.isFinite(version))
    return { name, status: 'fail', detail: 'CDKToolkit has no BootstrapVersion output', fix };
  if (version < required)
    return {
      name,
      status: 'fail',
      detail: `bootstrap version ${version}, this app needs ${required} or later`,
      fix,
    };
  return { name, status: 'pass', detail: `bootstrap version ${version} (needs ${required} or later)` };
}

/** Concurrency this stack's functions reserve today (0 before the first deploy). */
async function reservedNow(input: PreflightInput, c: PreflightClients): Promise<number> {
  if (!(await describeStack(c.cloudformation, input.env.stackName))) return 0;
  let total = 0;
  let NextToken: string | undefined;
  do {
    const page = await c.cloudformation.send(
      new ListStackResourcesCommand({ StackName: input.env.stackName, NextToken }),
    );
    for (const r of page.StackResourceSummaries ?? []) {
      if (r.ResourceType !== 'AWS::Lambda::Function' || !r.PhysicalResourceId) continue;
      const res = await c.lambda.send(
        new GetFunctionConcurrencyCommand({ FunctionName: r.PhysicalResourceId }),
      );
      total += res.ReservedConcurrentExecutions ?? 0;
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return total;
}

/** 3. The account's Lambda concurrency allows the reservations of the synthesized template. */
export async function checkLambdaConcurrency(
  input: PreflightInput,
  c: PreflightClients,
): Promise<CheckResult> {
  const name = 'lambda concurrency';
  const needed = input.facts.reservedConcurrency;
  const { AccountLimit } = await c.lambda.send(new GetAccountSettingsCommand({}));
  const limit = AccountLimit?.ConcurrentExecutions ?? 0;
  const unreserved = AccountLimit?.UnreservedConcurrentExecutions ?? 0;
  // Reservations this stack already holds come back to the pool when the deploy replaces them.
  const held = needed > 0 ? await reservedNow(input, c) : 0;
  const left = unreserved + held - needed;
  const detail =
    `the template reserves ${needed} (${input.facts.reservations.join(', ') || 'none'}); ` +
    `account quota ${limit}, unreserved ${unreserved}${held ? ` (+${held} this stack holds)` : ''}, ` +
    `${left} would stay unreserved (Lambda requires ${MIN_UNRESERVED_CONCURRENCY})`;
  if (left >= MIN_UNRESERVED_CONCURRENCY) return { name, status: 'pass', detail };
  return {
    name,
    status: 'fail',
    detail,
    fix:
      `ask for a higher "Concurrent executions" quota: aws service-quotas request-service-quota-increase ` +
      `--service-code lambda --quota-code L-B99A9384 --desired-value ${Math.max(1000, needed + MIN_UNRESERVED_CONCURRENCY + (limit - unreserved))} --region ${input.env.region}`,
  };
}

/** 4. The ECS and Application Auto Scaling service-linked roles exist (read-only: prints the command). */
export async function checkServiceLinkedRoles(
  _input: PreflightInput,
  c: PreflightClients,
): Promise<CheckResult> {
  const name = 'service-linked roles';
  const missing: (typeof SERVICE_LINKED_ROLES)[number][] = [];
  for (const slr of SERVICE_LINKED_ROLES) {
    try {
      await c.iam.send(new GetRoleCommand({ RoleName: slr.role }));
    } catch (err) {
      if (errorName(err) !== 'NoSuchEntityException' && errorName(err) !== 'NoSuchEntity') throw err;
      missing.push(slr);
    }
  }
  if (missing.length === 0)
    return { name, status: 'pass', detail: SERVICE_LINKED_ROLES.map((s) => s.role).join(', ') + ' exist' };
  return {
    name,
    status: 'fail',
    detail: `missing ${missing.map((m) => m.role).join(', ')} (a first ECS create can race their creation)`,
    fix: missing
      .map((m) => `aws iam create-service-linked-role --aws-service-name ${m.service}`)
      .join(' && '),
  };
}

/** Peak Fargate vCPUs during a deploy: every service at its largest count, times its maximum percent. */
export function peakFargateVcpu(
  env: EnvironmentConfig,
  names: RunbookNames,
  facts: TemplateFacts,
): { total: number; parts: string[] } {
  const counts: Record<string, number> = {
    [names.botService]: env.bot.desiredCount,
    [names.mlService]: env.ml.maxCount,
  };
  let total = 0;
  const parts: string[] = [];
  for (const [service, { cpu, maximumPercent }] of Object.entries(facts.services)) {
    const tasks = counts[service] ?? 1;
    const vcpu = (cpu / 1024) * Math.ceil((tasks * maximumPercent) / 100);
    total += vcpu;
    parts.push(`${service} ${cpu / 1024} vCPU × ${tasks} × ${maximumPercent}% = ${vcpu}`);
  }
  return { total, parts };
}

/** 5. The Fargate On-Demand vCPU quota covers the environment's peak during a deploy. */
export async function checkFargateQuota(input: PreflightInput, c: PreflightClients): Promise<CheckResult> {
  const name = 'fargate vCPU quota';
  const { total, parts } = peakFargateVcpu(input.env, input.names, input.facts);
  const res = await c.serviceQuotas.send(new GetServiceQuotaCommand({ ...FARGATE_VCPU_QUOTA }));
  const quota = res.Quota?.Value ?? 0;
  const detail = `peak ${total} vCPU (${parts.join('; ')}), quota ${quota}`;
  if (quota >= total) return { name, status: 'pass', detail };
  return {
    name,
    status: 'fail',
    detail,
    fix:
      `aws service-quotas request-service-quota-increase --service-code fargate --quota-code ${FARGATE_VCPU_QUOTA.QuotaCode} ` +
      `--desired-value ${Math.ceil(total)} --region ${input.env.region}`,
  };
}

/** 6. Every configured image (digest, else tag) exists in this account's registry. */
export async function checkImages(input: PreflightInput, c: PreflightClients): Promise<CheckResult> {
  const name = 'images';
  const found: string[] = [];
  const problems: string[] = [];
  const fixes: string[] = [];
  const registry = registryStackName(input.env);
  for (const [key, repositoryName] of [
    ['bot', input.names.botRepository],
    ['ml', input.names.mlRepository],
  ] as const) {
    const { imageTag, imageDigest } = input.env[key];
    const ref = imageDigest ? `${repositoryName}@${imageDigest}` : `${repositoryName}:${imageTag}`;
    try {
      await c.ecr.send(
        new DescribeImagesCommand({
          repositoryName,
          imageIds: [imageDigest ? { imageDigest } : { imageTag }],
        }),
      );
      found.push(ref);
    } catch (err) {
      if (errorName(err) === 'RepositoryNotFoundException') {
        problems.push(`repository ${repositoryName} does not exist`);
        fixes.push(`npx cdk deploy ${registry}`);
      } else if (errorName(err) === 'ImageNotFoundException') {
        problems.push(`${ref} is not in the registry`);
        fixes.push(
          imageDigest
            ? `wait for replication from the promoting environment's registry, or run npm run ops -- release --env ${input.env.name} --service ${key} --tag <tag> for an image that is there`
            : `docker push ${input.env.account}.dkr.ecr.${input.env.region}.amazonaws.com/${repositoryName}:${imageTag}`,
        );
      } else throw err;
    }
  }
  if (problems.length === 0) return { name, status: 'pass', detail: found.join(', ') };
  return { name, status: 'fail', detail: problems.join('; '), fix: [...new Set(fixes)].join('; ') };
}

/** 7. The Betfair and database secrets hold real values, not the placeholders. */
export async function checkSecrets(input: PreflightInput, c: PreflightClients): Promise<CheckResult> {
  const name = 'secrets';
  const { betfairSecret, databaseSecret } = input.names;
  const problems: string[] = [];
  const absent: string[] = [];
  // The deploy workflow checks with the read-only CDK lookup role, which may not read secret values.
  const unreadable: string[] = [];
  const read = async (id: string): Promise<Record<string, unknown> | undefined> => {
    try {
      const res = await c.secrets.send(new GetSecretValueCommand({ SecretId: id }));
      const parsed: unknown = JSON.parse(res.SecretString ?? '');
      if (typeof parsed === 'object' && parsed !== null) return parsed as Record<string, unknown>;
      problems.push(`${id} is not a JSON object`);
    } catch (err) {
      if (errorName(err) === 'ResourceNotFoundException') absent.push(id);
      else if (errorName(err) === 'AccessDeniedException') unreadable.push(id);
      else if (err instanceof SyntaxError) problems.push(`${id} is not JSON`);
      else throw err;
    }
    return undefined;
  };
  const real = (v: unknown) => typeof v === 'string' && v.trim() !== '' && v !== PLACEHOLDER;
  const state = (v: unknown) =>
    v === undefined ? 'missing' : v === PLACEHOLDER ? `the placeholder ${PLACEHOLDER}` : 'empty';
  const betfair = await read(betfairSecret);
  for (const key of ['app_key', 'username', 'password'])
    if (betfair && !real(betfair[key])) problems.push(`${betfairSecret} ${key} is ${state(betfair[key])}`);
  const database = await read(databaseSecret);
  for (const key of ['username', 'password'])
    if (database && !real(database[key]))
      problems.push(`${databaseSecret} ${key} is ${state(database[key])}`);
  const setBetfair =
    `aws secretsmanager put-secret-value --secret-id ${betfairSecret} ` +
    `--secret-string '{"app_key":"…","username":"…","password":"…"}'`;
  if (problems.length > 0) return { name, status: 'fail', detail: problems.join('; '), fix: setBetfair };
  if (absent.length > 0)
    return {
      name,
      status: 'skip',
      detail: `${absent.join(', ')} not created yet: the first deploy of ${input.env.stackName} creates them (Betfair with placeholders)`,
      fix: `right after that deploy: ${setBetfair}, then npm run ops -- resume --env ${input.env.name}`,
    };
  if (unreadable.length > 0)
    return {
      name,
      status: 'skip',
      detail: `${unreadable.join(', ')}: these credentials may not read secret values`,
      fix: `run npm run ops -- preflight --env ${input.env.name} with the operator role`,
    };
  return { name, status: 'pass', detail: `${betfairSecret} and ${databaseSecret} hold real values` };
}

/** 8. Every topic the stack outputs (`…TopicArn`) reaches someone: a subscriber, none pending. */
export async function checkSubscriptions(input: PreflightInput, c: PreflightClients): Promise<CheckResult> {
  const name = 'on-call subscriptions';
  const stack = await describeStack(c.cloudformation, input.env.stackName);
  if (!stack)
    return {
      name,
      status: 'skip',
      detail: `${input.env.stackName} is not deployed yet; its first deploy subscribes ${input.env.alarmEmail}`,
      fix: `after it, confirm the e-mail AWS sends to ${input.env.alarmEmail} and run preflight again`,
    };
  const outputs = Object.fromEntries(
    (stack.Outputs ?? [])
      .filter((o) => o.OutputKey && o.OutputValue)
      .map((o) => [o.OutputKey!, o.OutputValue!]),
  );
  const topics = await readTopicSubscriptions(outputs, c.sns);
  if (topics.length === 0)
    return {
      name,
      status: 'fail',
      detail: `${input.env.stackName} outputs no …TopicArn`,
      fix: 'deploy the current version of this app',
    };
  const problems = topics.map(subscriptionProblem).filter((p): p is string => p !== undefined);
  if (problems.length === 0)
    return {
      name,
      status: 'pass',
      detail: `confirmed: ${topics.map((t) => `${t.output} (${t.confirmed.join(', ')})`).join('; ')}`,
    };
  return {
    name,
    status: 'fail',
    detail: problems.join('; '),
    fix:
      `confirm each pending subscription: for e-mail, open the "AWS Notification - Subscription Confirmation" ` +
      `message at ${input.env.alarmEmail} (resend: aws sns subscribe --topic-arn <arn> --protocol email ` +
      `--notification-endpoint ${input.env.alarmEmail}); for the pager, confirm in its integration settings ` +
      '(docs/runbooks.md, routing)',
  };
}

/** Every check, in the order a first deploy meets them. */
export const PREFLIGHT_CHECKS = [
  checkAccount,
  checkBootstrap,
  checkLambdaConcurrency,
  checkServiceLinkedRoles,
  checkFargateQuota,
  checkImages,
  checkSecrets,
  checkSubscriptions,
] as const;

/** Runs every check; an error in one (denied, throttled) fails that check, never the others. */
export async function runPreflight(input: PreflightInput, clients: PreflightClients): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of PREFLIGHT_CHECKS) {
    try {
      results.push(await check(input, clients));
    } catch (err) {
      // No usable credentials: every check would fail alike; the CLI says it once, with the role.
      if (unusableCredentials(err)) throw err;
      const name = check.name
        .replace(/^check/, '')
        .replace(/([a-z])([A-Z])/g, '$1 $2')
        .toLowerCase();
      results.push({
        name,
        status: 'fail',
        detail: `could not check: ${message(err)}`,
        fix: `use credentials of an administrator of account ${input.env.account}, then run preflight again`,
      });
    }
  }
  return results;
}
