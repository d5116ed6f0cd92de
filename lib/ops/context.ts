import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { createInterface } from 'node:readline/promises';
import { operableEnvironments } from '../../environments';
import { OperableEnvironmentConfig } from '../../environments/types';
import { readRuntime, useLocalEndpoints } from '../local/runtime';
import { runbookNames, RunbookNames } from '../names';
import { OPERATOR_ROLE_NAME, OPS_COMMAND_ROLES, VIEWER_ROLE_NAME } from '../operator-access';

/** Everything an ops command needs: the environment, its runbook names, its stack outputs, I/O. */
export interface OpsContext {
  readonly env: OperableEnvironmentConfig;
  readonly names: RunbookNames;
  /** The deployed stack's outputs (CloudFormation DescribeStacks), fetched once. */
  outputs(): Promise<Record<string, string>>;
  /** Prints one line to stdout. */
  print(line: string): void;
  /** Asks a yes/no question; false without a terminal unless `--yes` was given. */
  confirm(question: string): Promise<boolean>;
}

/** Thrown for a wrong command line; the CLI prints the message and exits 2. */
export class UsageError extends Error {}

/** Finds an environment by name, with an error that lists the valid names. */
export function findEnvironment(name: string | undefined): OperableEnvironmentConfig {
  const env = operableEnvironments.find((e) => e.name === name);
  if (!env) {
    throw new UsageError(
      `--env ${name === undefined ? 'is missing' : `"${name}" is not an environment`}: use --env ${operableEnvironments.map((e) => e.name).join(' | ')}`,
    );
  }
  return env;
}

/** Builds the context against real AWS (region and account from the environment's config). */
export function awsContext(env: OperableEnvironmentConfig, options: { yes: boolean }): OpsContext {
  // `--env local`: the same commands against the stand-in `npm run local` runs.
  if (env.name === 'local') useLocalEndpoints(readRuntime());
  let cached: Promise<Record<string, string>> | undefined;
  return {
    env,
    names: runbookNames(env.name),
    outputs: () =>
      (cached ??= (async () => {
        const cfn = new CloudFormationClient({ region: env.region });
        const res = await cfn.send(new DescribeStacksCommand({ StackName: env.stackName }));
        const outs: Record<string, string> = {};
        for (const o of res.Stacks?.[0]?.Outputs ?? [])
          if (o.OutputKey && o.OutputValue) outs[o.OutputKey] = o.OutputValue;
        return outs;
      })()),
    print: (line) => process.stdout.write(`${line}\n`),
    confirm: async (question) => {
      if (options.yes) return true;
      if (!process.stdin.isTTY) return false;
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
      } finally {
        rl.close();
      }
    },
  };
}

/** Reads a required stack output, with an error naming the output and the stack. */
export async function requireOutput(ctx: OpsContext, key: string): Promise<string> {
  const value = (await ctx.outputs())[key];
  if (!value)
    throw new Error(
      `Stack ${ctx.env.stackName} has no output ${key}: deploy the current version of this app first`,
    );
  return value;
}

/**
 * AWS error names that mean there are no usable credentials at all: none found, expired, unknown to
 * AWS. Every call of the command would fail the same way, so the command stops at the first one and
 * says it once.
 */
const UNUSABLE_CREDENTIALS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
]);

/** Names of a refusal: the credentials work but may not do this (often those of another account). */
const DENIED = new Set(['AccessDenied', 'AccessDeniedException']);

/** True when `err` says there are no usable credentials (not: these may not do this one call). */
export function unusableCredentials(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  return !!name && UNUSABLE_CREDENTIALS.has(name);
}

/** Who may run each command, in words, from lib/operator-access.ts's table. */
export function roleNeeded(command: string, env: OperableEnvironmentConfig): string | undefined {
  switch (OPS_COMMAND_ROLES[command]) {
    case 'viewer':
      return `ops ${command} needs the ${VIEWER_ROLE_NAME} role (or ${OPERATOR_ROLE_NAME}) of ${env.stackName}: stack output ViewerRoleArn.`;
    case 'operator':
      return `ops ${command} needs the ${OPERATOR_ROLE_NAME} role of ${env.stackName}: stack output OperatorRoleArn.`;
    case 'administrator':
      return (
        `ops ${command} needs an administrator of account ${env.account}: it runs before the first deploy ` +
        `creates the ${OPERATOR_ROLE_NAME} role (docs/first-deploy.md).`
      );
    default:
      return undefined;
  }
}

/**
 * The one wording of a credentials failure for every ops command: what AWS said, the account the
 * environment lives in, how to authenticate to it and check, the role `command` needs, and
 * `fallback` (what to do if that is not possible now, e.g. the by-hand stop). Undefined when `err`
 * is not a credentials failure.
 */
export function credentialsProblem(
  err: unknown,
  env: OperableEnvironmentConfig,
  fallback?: string,
  command?: string,
): string | undefined {
  const e = err as { name?: string; message?: string } | undefined;
  if (!e?.name || !(UNUSABLE_CREDENTIALS.has(e.name) || DENIED.has(e.name))) return undefined;
  const role = command ? roleNeeded(command, env) : undefined;
  return [
    `AWS did not accept the credentials: ${e.name}: ${e.message}`,
    `${env.name} is AWS account ${env.account} (${env.region}). Authenticate to it, e.g. ` +
      '`aws sso login --profile <profile>` then `export AWS_PROFILE=<profile>`, and check that ' +
      `\`aws sts get-caller-identity\` shows Account ${env.account}.`,
    ...(role ? [role] : []),
    ...(fallback ? [fallback] : []),
  ].join('\n');
}

/** Hosts that are this machine: an endpoint there is an emulator (moto, `npm run local`), never AWS. */
function isLoopback(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return false;
  }
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === '::1' ||
    host === '0.0.0.0' ||
    /^::ffff:127\./.test(host)
  );
}

/**
 * Refuses to run a real environment's command while an inherited variable sends the SDK to this
 * machine: `AWS_ENDPOINT_URL`, or a per-service `AWS_ENDPOINT_URL_<SERVICE>` (the SDK reads both).
 * A shell that sourced an emulator's settings would otherwise tell an incident responder that the
 * stack "does not exist". `--endpoint-url` is the explicit way to aim at an emulator (tests).
 */
export function refuseInheritedEmulator(
  envName: string | undefined,
  vars: NodeJS.ProcessEnv = process.env,
): void {
  if (envName === 'local') return;
  for (const [name, value] of Object.entries(vars)) {
    if (!/^AWS_ENDPOINT_URL(_[A-Z0-9_]+)?$/.test(name) || !value || !isLoopback(value)) continue;
    throw new UsageError(
      `${name}=${value} points at this machine (an emulator), not AWS: unset ${name} to reach ${envName ?? 'the environment'}'s account, or use --env local (or --endpoint-url on purpose)`,
    );
  }
}

/**
 * `--endpoint-url <url>`: every AWS client of this run talks to `url` (an emulator in tests and
 * drills), said on the command line rather than inherited from the shell. The option wins over
 * every inherited endpoint: the per-service `AWS_ENDPOINT_URL_<SERVICE>` variables (which the SDK
 * prefers to the global one) are set aside for the run too. Returns the undo.
 */
export function useEndpoint(url: string, vars: NodeJS.ProcessEnv = process.env): () => void {
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--endpoint-url "${url}" is not a URL: e.g. --endpoint-url http://127.0.0.1:5000`);
  }
  const before = Object.entries(vars).filter(([name]) => /^AWS_ENDPOINT_URL(_[A-Z0-9_]+)?$/.test(name));
  for (const [name] of before) delete vars[name];
  vars.AWS_ENDPOINT_URL = url;
  return () => {
    delete vars.AWS_ENDPOINT_URL;
    for (const [name, value] of before) vars[name] = value;
  };
}
