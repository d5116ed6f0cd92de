import { fargateMemoryOptions, FARGATE_TASK_SIZES } from './fargate';
import { unknownKeyProblems } from './keys';
import { imagePinProblems, promotionProblems } from './validate-images';
import { alertingProblems } from './validate-alerting';
import { ConfigProblem } from './problem';
import { LOG_RETENTION_DAYS, RDS_POSTGRES_INSTANCE_CLASSES, RDS_STORAGE_GIB } from './rds';
import { EnvironmentConfig, ServiceConfig } from './types';
import { emergencyStopProblems } from './validate-emergency-stop';
import { monitoringProblems } from './validate-monitoring';
import { rollbackProblems } from './validate-rollback';
import { accessProblems } from './validate-access';
import { costProblems } from './validate-cost';

export type { ConfigProblem } from './problem';

/** Thrown at synth when any environment's configuration is invalid; lists every problem at once. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `Invalid environment configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems
          .map((p) => `  - ${p.field} = ${JSON.stringify(p.value)}: ${p.problem}. Fix: ${p.fix}`)
          .join('\n'),
    );
    this.name = 'ConfigValidationError';
  }
}

/**
 * Tags that conventionally move from image to image. A production task definition pointing at one
 * of them would not say which code runs, and `cdk diff` could not show a release.
 */
export const MUTABLE_IMAGE_TAGS: readonly string[] = [
  'latest',
  'stable',
  'main',
  'master',
  'develop',
  'dev',
  'edge',
  'nightly',
  'staging',
  'production',
  'prod',
  'release',
  'current',
  'head',
];

// Docker's tag grammar.
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const ACCOUNT_ID = /^\d{12}$/;
const INSTANCE_CLASS = /^db\.([a-z][a-z0-9-]*)\.([a-z0-9]+)$/;
const MONITORING_INTERVALS = [0, 1, 5, 10, 15, 30, 60];

function checkService(
  env: EnvironmentConfig,
  key: 'bot' | 'ml',
  svc: ServiceConfig,
  add: (p: ConfigProblem) => void,
): void {
  const file = `environments/${env.name}.ts`;
  const f = `${env.name}.${key}`;
  const memoryOptions = fargateMemoryOptions(svc.cpu);
  if (memoryOptions.length === 0) {
    add({
      field: `${f}.cpu`,
      value: svc.cpu,
      problem: 'Fargate has no such CPU size',
      fix: `use one of ${FARGATE_TASK_SIZES.map((r) => r.cpu).join(', ')} in ${file}`,
    });
  } else if (!memoryOptions.includes(svc.memoryMiB)) {
    add({
      field: `${f}.memoryMiB`,
      value: svc.memoryMiB,
      problem: `Fargate rejects ${svc.memoryMiB} MiB with ${svc.cpu} CPU units`,
      fix: `with cpu ${svc.cpu} use memoryMiB ${memoryOptions[0]}–${memoryOptions[memoryOptions.length - 1]} in steps of ${
        memoryOptions[1] - memoryOptions[0]
      }, or change cpu, in ${file}`,
    });
  }
  if (!IMAGE_TAG.test(svc.imageTag)) {
    add({
      field: `${f}.imageTag`,
      value: svc.imageTag,
      problem: 'not a valid image tag (letters, digits, "_", "." and "-", at most 128 characters)',
      fix: `set a release tag such as "v1.2.3" or a git SHA in ${file}`,
    });
  } else if (!env.allowMutableImageTags && MUTABLE_IMAGE_TAGS.includes(svc.imageTag.toLowerCase())) {
    add({
      field: `${f}.imageTag`,
      value: svc.imageTag,
      problem: `"${svc.imageTag}" is a mutable tag and ${env.name} must pin what it runs`,
      fix: `set the released tag (e.g. "v1.2.3" or a git SHA) in ${file}`,
    });
  }
  if (!Number.isInteger(svc.containerPort) || svc.containerPort < 1 || svc.containerPort > 65535) {
    add({
      field: `${f}.containerPort`,
      value: svc.containerPort,
      problem: 'not a TCP port',
      fix: `use 1–65535 in ${file}`,
    });
  }
  if (
    !Number.isInteger(svc.healthCheckGracePeriodSeconds) ||
    svc.healthCheckGracePeriodSeconds < 0 ||
    svc.healthCheckGracePeriodSeconds > 600
  ) {
    add({
      field: `${f}.healthCheckGracePeriodSeconds`,
      value: svc.healthCheckGracePeriodSeconds,
      problem: 'out of range',
      fix: `use 0–600 seconds in ${file}`,
    });
  }
}

/** Problems in one environment's configuration, empty when it is valid. */
export function environmentProblems(env: EnvironmentConfig): ConfigProblem[] {
  // A misspelled key leaves its default in force: report it first, beside any other problem.
  const problems: ConfigProblem[] = unknownKeyProblems(env);
  const add = (p: ConfigProblem) => problems.push(p);
  const file = `environments/${env.name}.ts`;
  const n = env.name;

  if (!ACCOUNT_ID.test(env.account)) {
    add({
      field: `${n}.account`,
      value: env.account,
      problem: 'an AWS account id is exactly 12 digits',
      fix: `set the 12-digit id (as a string, leading zeros kept) in ${file}`,
    });
  }
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(env.region)) {
    add({
      field: `${n}.region`,
      value: env.region,
      problem: 'not an AWS region name',
      fix: `use e.g. "eu-west-1" in ${file}`,
    });
  }

  const heartbeat = env.betfairHeartbeatTimeoutSeconds;
  if (!Number.isInteger(heartbeat) || heartbeat < 10 || heartbeat > 300) {
    add({
      field: `${n}.betfairHeartbeatTimeoutSeconds`,
      value: heartbeat,
      problem: "Betfair's Heartbeat API accepts whole seconds from 10 to 300",
      fix: `set a value from 10 to 300 in ${file} (shorter cancels a dead bot's bets sooner)`,
    });
  }
  if (env.liveTradingEnabled && env.name !== 'production' && !env.acknowledgeLiveTradingOutsideProduction) {
    add({
      field: `${n}.liveTradingEnabled`,
      value: true,
      problem:
        'live trading outside production bets real money from an environment whose README section, config file and alarm set assume trading is off',
      fix: `set liveTradingEnabled: false in ${file}, or say it is meant with acknowledgeLiveTradingOutsideProduction: true beside it`,
    });
  }
  checkService(env, 'bot', env.bot, add);
  checkService(env, 'ml', env.ml, add);
  if (env.bot.desiredCount !== 0 && env.bot.desiredCount !== 1) {
    add({
      field: `${n}.bot.desiredCount`,
      value: env.bot.desiredCount,
      problem: 'more than one bot would place every bet more than once',
      fix: `use 1 (or 0 to keep the bot stopped) in ${file}`,
    });
  }
  if (!Number.isInteger(env.ml.desiredCount) || env.ml.desiredCount < 1) {
    add({
      field: `${n}.ml.desiredCount`,
      value: env.ml.desiredCount,
      problem: 'the ML service needs at least one task',
      fix: `use 1 or more in ${file}`,
    });
  }
  if (!Number.isInteger(env.ml.maxCount) || env.ml.maxCount < env.ml.desiredCount) {
    add({
      field: `${n}.ml.maxCount`,
      value: env.ml.maxCount,
      problem: `below ml.desiredCount (${env.ml.desiredCount})`,
      fix: `set ml.maxCount to at least ${env.ml.desiredCount} in ${file}`,
    });
  }
  if (env.ml.targetCpuUtilizationPercent < 10 || env.ml.targetCpuUtilizationPercent > 90) {
    add({
      field: `${n}.ml.targetCpuUtilizationPercent`,
      value: env.ml.targetCpuUtilizationPercent,
      problem: 'outside the useful range for target tracking',
      fix: `use 10–90 in ${file}`,
    });
  }

  const db = env.database;
  const m = INSTANCE_CLASS.exec(db.instanceClass);
  if (!m) {
    add({
      field: `${n}.database.instanceClass`,
      value: db.instanceClass,
      problem: 'malformed RDS instance class (expected db.<family>.<size>)',
      fix: `use e.g. "db.t3.medium" or "db.r6g.large" in ${file}`,
    });
  } else if (!RDS_POSTGRES_INSTANCE_CLASSES[m[1]]?.includes(m[2])) {
    const sizes = RDS_POSTGRES_INSTANCE_CLASSES[m[1]];
    add({
      field: `${n}.database.instanceClass`,
      value: db.instanceClass,
      problem: sizes
        ? `RDS for PostgreSQL has no size "${m[2]}" in family ${m[1]}`
        : `unknown RDS instance family "${m[1]}"`,
      fix: sizes
        ? `use one of ${sizes.map((s) => `db.${m[1]}.${s}`).join(', ')} in ${file}`
        : `use one of the families ${Object.keys(RDS_POSTGRES_INSTANCE_CLASSES).join(', ')} (environments/rds.ts) in ${file}`,
    });
  }
  if (
    !Number.isInteger(db.allocatedStorageGiB) ||
    db.allocatedStorageGiB < RDS_STORAGE_GIB.min ||
    db.allocatedStorageGiB > RDS_STORAGE_GIB.max
  ) {
    add({
      field: `${n}.database.allocatedStorageGiB`,
      value: db.allocatedStorageGiB,
      problem: `RDS gp3 storage must be ${RDS_STORAGE_GIB.min}–${RDS_STORAGE_GIB.max} GiB`,
      fix: `set a whole number of GiB in that range in ${file}`,
    });
  }
  if (db.maxAllocatedStorageGiB < db.allocatedStorageGiB || db.maxAllocatedStorageGiB > RDS_STORAGE_GIB.max) {
    add({
      field: `${n}.database.maxAllocatedStorageGiB`,
      value: db.maxAllocatedStorageGiB,
      problem: `must be between allocatedStorageGiB (${db.allocatedStorageGiB}) and ${RDS_STORAGE_GIB.max}`,
      fix: `raise or lower it into that range in ${file}`,
    });
  }
  if (
    !Number.isInteger(db.backupRetentionDays) ||
    db.backupRetentionDays < 7 ||
    db.backupRetentionDays > 35
  ) {
    add({
      field: `${n}.database.backupRetentionDays`,
      value: db.backupRetentionDays,
      problem: 'backups must be kept 7–35 days (Security Hub RDS.11 asks for at least 7)',
      fix: `use 7–35 in ${file}`,
    });
  }
  if (!MONITORING_INTERVALS.includes(db.monitoringIntervalSeconds)) {
    add({
      field: `${n}.database.monitoringIntervalSeconds`,
      value: db.monitoringIntervalSeconds,
      problem: 'RDS enhanced monitoring accepts only 0, 1, 5, 10, 15, 30 or 60',
      fix: `use one of those in ${file}`,
    });
  }

  const net = env.network;
  const azs = net.availabilityZones;
  if (azs.length < 2 || new Set(azs).size !== azs.length) {
    add({
      field: `${n}.network.availabilityZones`,
      value: azs,
      problem: 'the ALB and the database subnet group need at least two distinct AZs',
      fix: `list two or more distinct zones of ${env.region} in ${file}`,
    });
  }
  const foreign = azs.filter((az) => !new RegExp(`^${env.region}[a-z]$`).test(az));
  if (foreign.length > 0) {
    add({
      field: `${n}.network.availabilityZones`,
      value: foreign,
      problem: `not zones of region ${env.region}`,
      fix: `use zones such as "${env.region}a" in ${file}`,
    });
  }
  if (!Number.isInteger(net.natGateways) || net.natGateways < 1 || net.natGateways > azs.length) {
    add({
      field: `${n}.network.natGateways`,
      value: net.natGateways,
      problem: `must be 1–${azs.length} (the bot needs egress to reach Betfair)`,
      fix: `use 1 for cost or ${azs.length} for one per AZ in ${file}`,
    });
  }
  if (!/^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-4])$/.test(net.cidr)) {
    add({
      field: `${n}.network.cidr`,
      value: net.cidr,
      problem: 'expected an IPv4 CIDR from /16 to /24',
      fix: `use e.g. "10.0.0.0/16" in ${file}`,
    });
  }
  for (const [field, days] of [
    ['logRetentionDays', env.logRetentionDays],
    ['network.flowLogRetentionDays', net.flowLogRetentionDays],
  ] as const) {
    if (!LOG_RETENTION_DAYS.includes(days)) {
      add({
        field: `${n}.${field}`,
        value: days,
        problem: 'CloudWatch Logs does not offer this retention',
        fix: `use one of ${LOG_RETENTION_DAYS.join(', ')} in ${file}`,
      });
    }
  }
  if (!Number.isInteger(env.ecrImagesToKeep) || env.ecrImagesToKeep < 5 || env.ecrImagesToKeep > 1000) {
    add({
      field: `${n}.ecrImagesToKeep`,
      value: env.ecrImagesToKeep,
      problem: 'rollbacks need earlier images (at least 5 kept)',
      fix: `use 5–1000 in ${file}`,
    });
  }
  problems.push(...imagePinProblems(env));
  problems.push(...rollbackProblems(env));
  problems.push(...accessProblems(env));
  problems.push(...monitoringProblems(env));
  problems.push(...alertingProblems(env));
  problems.push(...emergencyStopProblems(env));
  problems.push(...costProblems(env));
  return problems;
}

/** Problems that involve several environments at once. */
export function crossEnvironmentProblems(envs: readonly EnvironmentConfig[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, string>();
  for (const env of envs) {
    const key = `${env.account}/${env.region}`;
    const other = seen.get(key);
    if (other) {
      problems.push({
        field: `${env.name}.account`,
        value: env.account,
        problem: `${env.name} and ${other} share account ${env.account} in ${env.region}; the runbook names (ECR repositories, log groups) would collide and one environment could stop the other`,
        fix: `give each environment its own AWS account in environments/${env.name}.ts`,
      });
    }
    seen.set(key, env.name);
  }
  problems.push(...promotionProblems(envs));
  const names = envs.map((e) => e.stackName);
  const dup = names.find((s, i) => names.indexOf(s) !== i);
  if (dup) {
    problems.push({
      field: 'stackName',
      value: dup,
      problem: 'two environments have the same stack name',
      fix: 'give each a unique stackName',
    });
  }
  return problems;
}

/** Validates all environments and throws one error listing every problem; returns them unchanged when valid. */
export function validateEnvironments<T extends readonly EnvironmentConfig[]>(envs: T): T {
  const problems = [...envs.flatMap(environmentProblems), ...crossEnvironmentProblems(envs)];
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return envs;
}
