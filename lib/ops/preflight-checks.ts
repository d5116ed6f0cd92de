import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListExportsCommand,
  ListStackResourcesCommand,
  Stack,
} from '@aws-sdk/client-cloudformation';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { readTopicSubscriptions, subscriptionProblem } from './subscriptions';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  GetAccountSettingsCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { EnvironmentConfig } from '../../environments/types';
import { registryStackName } from '../app';
import { RunbookNames } from '../names';
import { TemplateFacts, TemplateReference } from './template-facts';
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
  readonly ssm: SSMClient;
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
/** The value this app's secrets hold until a person sets the real one (lib/secrets.ts). */
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

/** The registry stack of this app that holds `account`'s repositories, for a fix. */
function registryFix(input: PreflightInput): string {
  return `npx cdk deploy ${registryStackName(input.env)}`;
}

/**
 * 6. Every image the environment's task definitions pull (as synthesized: tag or digest) exists in
 * the registry its URI names. ECS pulls when a task starts, so a missing image fails the create.
 */
export async function checkImages(input: PreflightInput, c: PreflightClients): Promise<CheckResult> {
  const name = 'images';
  const images = input.facts.images ?? [];
  const found: string[] = [];
  const problems: string[] = [];
  const fixes: string[] = [];
  for (const image of images) {
    if (!image.repository || !image.account) {
      problems.push(
        `${image.uri} (${image.where.join(', ')}) is not an ECR image: only ECR images are deployed here`,
      );
      fixes.push("pin images of this account's registry in environments/");
      continue;
    }
    const ref = image.digest
      ? `${image.repository}@${image.digest}`
      : `${image.repository}:${image.tag ?? 'latest'}`;
    try {
      const res = await c.ecr.send(
        new DescribeImagesCommand({
          registryId: image.account,
          repositoryName: image.repository,
          imageIds: [image.digest ? { imageDigest: image.digest } : { imageTag: image.tag ?? 'latest' }],
        }),
      );
      // ECR lifecycle rules select by tag only: a digest pin is kept through the release tag it
      // carries, which must be the imageTag written beside it (docs/first-deploy.md "Which images expire").
      const key =
        image.repository === input.names.botRepository
          ? 'bot'
          : image.repository === input.names.mlRepository
            ? 'ml'
            : undefined;
      const pinnedTag = key ? input.env[key].imageTag : undefined;
      const tags = res.imageDetails?.[0]?.imageTags ?? [];
      if (image.digest && pinnedTag && !tags.includes(pinnedTag)) {
        problems.push(
          `${ref} carries the tags [${tags.join(', ')}], not ${key}.imageTag ${pinnedTag}: the lifecycle keeps it only through a release tag`,
        );
        fixes.push(
          `npm run ops -- release --env ${input.env.name} --service ${key} --tag <the release tag of that digest>`,
        );
      } else found.push(ref);
    } catch (err) {
      if (errorName(err) === 'RepositoryNotFoundException') {
        problems.push(`repository ${image.repository} does not exist`);
        fixes.push(registryFix(input));
      } else if (errorName(err) === 'ImageNotFoundException') {
        problems.push(`${ref} is not in the registry`);
        fixes.push(
          image.digest
            ? `wait for replication from the promoting environment's registry, or run npm run ops -- release --env ${input.env.name} --service <bot|ml> --tag <tag> for an image that is there`
            : `docker build -t ${image.uri} <source directory> && docker push ${image.uri}`,
        );
      } else throw err;
    }
  }
  if (images.length === 0)
    return {
      name,
      status: 'fail',
      detail: 'the template names no image: run preflight on a synthesized assembly',
      fix: 'npx cdk synth',
    };
  if (problems.length === 0) return { name, status: 'pass', detail: found.join(', ') };
  return { name, status: 'fail', detail: problems.join('; '), fix: [...new Set(fixes)].join('; ') };
}

/** The value CloudFormation or ECS would read for `ref`: the JSON key of the secret, or the parameter. */
async function readReference(
  ref: TemplateReference,
  c: PreflightClients,
): Promise<{ value?: unknown; absent?: string; unreadable?: boolean }> {
  try {
    if (ref.service === 'secretsmanager') {
      const res = await c.secrets.send(
        new GetSecretValueCommand({
          SecretId: ref.id,
          VersionId: ref.versionId,
          VersionStage: ref.versionId ? undefined : ref.versionStage,
        }),
      );
      if (ref.jsonKey === undefined) return { value: res.SecretString };
      let parsed: unknown;
      try {
        parsed = JSON.parse(res.SecretString ?? '');
      } catch {
        return { absent: `${ref.id} is not JSON, so it has no key ${ref.jsonKey}` };
      }
      const value = (parsed as Record<string, unknown> | null)?.[ref.jsonKey];
      return value === undefined ? { absent: `${ref.id} has no key ${ref.jsonKey}` } : { value };
    }
    const res = await c.ssm.send(
      new GetParameterCommand({
        Name: ref.versionStage ? `${ref.id}:${ref.versionStage}` : ref.id,
        WithDecryption: ref.service === 'ssm-secure',
      }),
    );
    return { value: res.Parameter?.Value };
  } catch (err) {
    const e = errorName(err);
    if (e === 'ResourceNotFoundException' || e === 'ParameterNotFound' || e === 'ParameterVersionNotFound')
      return {
        absent: ref.versionId ? `${ref.id} has no version ${ref.versionId}` : `${ref.id} does not exist`,
      };
    if (e === 'AccessDeniedException')
      return ref.service === 'secretsmanager' ? describeOnly(ref, c) : { unreadable: true };
    throw err;
  }
}

/**
 * For credentials that may not read secret values (the deploy workflow's read-only lookup role):
 * DescribeSecret still tells whether the secret, and the version the template names, exist.
 */
async function describeOnly(
  ref: TemplateReference,
  c: PreflightClients,
): Promise<{ absent?: string; unreadable?: boolean }> {
  try {
    const res = await c.secrets.send(new DescribeSecretCommand({ SecretId: ref.id }));
    if (ref.versionId && !res?.VersionIdsToStages?.[ref.versionId])
      return { absent: `${ref.id} has no version ${ref.versionId}` };
    return { unreadable: true };
  } catch (err) {
    if (errorName(err) === 'ResourceNotFoundException') return { absent: `${ref.id} does not exist` };
    return { unreadable: true };
  }
}

/** How to create or set what `ref` reads: the ops command that owns it, else the AWS CLI. */
function referenceFix(input: PreflightInput, ref: TemplateReference, exists: boolean): string {
  const pager = input.env.alerting.pager;
  if (pager && ref.service === 'secretsmanager' && ref.id === pager.urlSecretName)
    return `npm run ops -- pager set-url --env ${input.env.name} --url <https://…>`;
  if (ref.service !== 'secretsmanager')
    return `aws ssm put-parameter --name ${ref.id} --type ${ref.service === 'ssm-secure' ? 'SecureString' : 'String'} --value <value>${exists ? ' --overwrite' : ''}`;
  return '';
}

/**
 * 7. Every value the templates read from Secrets Manager or Parameter Store: `{{resolve:…}}`
 * dynamic references and SSM-typed parameters, which CloudFormation resolves when it creates the
 * resource (a missing one fails the create), and the container secrets ECS injects when a task
 * starts. Each must exist and hold a real value (not empty, not the placeholder {@link PLACEHOLDER}).
 * Secrets the stack creates itself are checked once it exists (before, the deploy creates them).
 */
export async function checkSecrets(input: PreflightInput, c: PreflightClients): Promise<CheckResult> {
  const name = 'secrets and parameters';
  const refs = input.facts.references ?? [];
  const deployed = refs.some((r) => r.createdByStack)
    ? (await describeStack(c.cloudformation, input.env.stackName)) !== undefined
    : false;
  const problems: string[] = [];
  const fixes: string[] = [];
  const later = new Map<string, string[]>();
  const unreadable = new Set<string>();
  const ok: string[] = [];
  // Secrets set by hand, one command per secret with every key the templates read from it.
  const keysToSet = new Map<string, string[]>();
  const label = (r: TemplateReference) =>
    `${r.id}${r.jsonKey ? ` ${r.jsonKey}` : ''}${r.versionId ? ` (version ${r.versionId})` : ''}`;
  for (const ref of refs) {
    if (ref.createdByStack && !deployed) {
      later.set(ref.id, [...(later.get(ref.id) ?? []), ref.jsonKey ?? '']);
      continue;
    }
    const read = await readReference(ref, c);
    if (read.unreadable) {
      unreadable.add(ref.id);
      continue;
    }
    const value = read.value;
    const real =
      typeof value === 'string'
        ? value.trim() !== '' && value !== PLACEHOLDER
        : value !== undefined && value !== null;
    if (!read.absent && real) {
      ok.push(label(ref));
      continue;
    }
    problems.push(
      `${label(ref)} ${read.absent ? `is missing (${read.absent})` : value === PLACEHOLDER ? `is the placeholder ${PLACEHOLDER}` : 'is empty'}, read by ${ref.where.join(', ')}`,
    );
    const fix = referenceFix(input, ref, !read.absent?.endsWith('does not exist'));
    if (fix) fixes.push(fix);
    else {
      const entry = keysToSet.get(ref.id) ?? [];
      if (ref.jsonKey) entry.push(ref.jsonKey);
      keysToSet.set(ref.id, entry);
      // Whether to create the secret or set a new value of one that exists.
      if (read.absent?.endsWith('does not exist')) keysToSet.set(`create:${ref.id}`, []);
    }
  }
  for (const [id, keys] of keysToSet) {
    if (id.startsWith('create:')) continue;
    const value = keys.length ? `'{${keys.map((k) => `"${k}":"…"`).join(',')}}'` : `'…'`;
    fixes.push(
      keysToSet.has(`create:${id}`)
        ? `aws secretsmanager create-secret --name ${id} --secret-string ${value}`
        : `aws secretsmanager put-secret-value --secret-id ${id} --secret-string ${value}`,
    );
  }
  if (problems.length > 0)
    return { name, status: 'fail', detail: problems.join('; '), fix: [...new Set(fixes)].join('; ') };
  if (later.size > 0) {
    const sets = [...later].map(
      ([id, keys]) =>
        `aws secretsmanager put-secret-value --secret-id ${id} --secret-string '{${keys.map((k) => `"${k}":"…"`).join(',')}}'`,
    );
    return {
      name,
      status: 'skip',
      detail: `${[...later.keys()].join(', ')} not created yet: the first deploy of ${input.env.stackName} creates ${later.size > 1 ? 'them' : 'it'}${ok.length ? `; ${ok.join(', ')} set` : ''}`,
      fix: `right after that deploy: ${sets.join('; ')}, then npm run ops -- resume --env ${input.env.name}`,
    };
  }
  if (unreadable.size > 0)
    return {
      name,
      status: 'skip',
      detail: `${[...unreadable].join(', ')}: these credentials may not read secret values`,
      fix: `run npm run ops -- preflight --env ${input.env.name} with the operator role`,
    };
  return {
    name,
    status: 'pass',
    detail: ok.length ? `${ok.join(', ')} hold real values` : 'the templates read no secret or parameter',
  };
}

/** 7b. Every `Fn::ImportValue` names an export of this account and region. */
export async function checkImports(input: PreflightInput, c: PreflightClients): Promise<CheckResult> {
  const name = 'imports';
  const imports = input.facts.imports ?? [];
  if (imports.length === 0) return { name, status: 'pass', detail: 'the templates import no value' };
  const exported = new Set<string>();
  let NextToken: string | undefined;
  do {
    const page = await c.cloudformation.send(new ListExportsCommand({ NextToken }));
    for (const e of page.Exports ?? []) if (e.Name) exported.add(e.Name);
    NextToken = page.NextToken;
  } while (NextToken);
  const missing = imports.filter((i) => !exported.has(i.name));
  if (missing.length === 0) return { name, status: 'pass', detail: imports.map((i) => i.name).join(', ') };
  return {
    name,
    status: 'fail',
    detail: `no export ${missing.map((m) => m.name).join(', ')} in ${input.env.account}/${input.env.region}`,
    fix: [
      ...new Set(
        missing.map((m) =>
          m.exportedBy ? `npx cdk deploy ${m.exportedBy}` : `deploy the stack that exports ${m.name}`,
        ),
      ),
    ].join('; '),
  };
}

/**
 * 7c. Protection matches the account: `stackCreated` (environments/) says whether the stack exists,
 * and decides whether the deploy turns on deletion and termination protection
 * (lib/deletion-protection.ts). A deploy with it wrong either creates protected resources (a failed
 * create cannot roll back) or switches protection off on an existing database.
 */
export async function checkProtection(input: PreflightInput, c: PreflightClients): Promise<CheckResult> {
  const name = 'deletion protection';
  const { env } = input;
  const file = `environments/${env.name}.ts`;
  const stack = await describeStack(c.cloudformation, env.stackName);
  const status = stack?.StackStatus;
  if (status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED')
    return {
      name,
      status: 'fail',
      detail: `${env.stackName} is ${status}: a failed first create, which cannot be updated`,
      fix: `aws cloudformation delete-stack --stack-name ${env.stackName} (nothing in it was protected), then deploy again`,
    };
  const wanted =
    env.terminationProtection || env.database.deletionProtection || env.loadBalancerDeletionProtection;
  if (!stack && env.stackCreated)
    return {
      name,
      status: 'fail',
      detail: `${file} says stackCreated: true but ${env.stackName} does not exist in ${env.account}: its create would be protected and could not roll back`,
      fix: `set stackCreated: false in ${file} (or check the account and credentials)`,
    };
  if (stack && !env.stackCreated && wanted)
    return {
      name,
      status: 'fail',
      detail: `${env.stackName} exists (${status}) but ${file} says stackCreated: false: this deploy would leave (or switch) deletion and termination protection off`,
      fix: `npm run ops -- protect --env ${env.name}, then commit and deploy`,
    };
  return {
    name,
    status: 'pass',
    detail: stack
      ? `${env.stackName} exists (${status}); protection ${wanted ? 'on' : 'not asked for'}`
      : `${env.stackName} does not exist yet: it is created without protection (so a failed create rolls back); after it, npm run ops -- protect --env ${env.name}`,
  };
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
  checkImports,
  checkProtection,
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
