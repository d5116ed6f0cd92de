/**
 * The price table: one row per priced dimension, per region, with its source.
 *
 * Every figure was read on `READ_ON` through the stored copies of public pages the project's search
 * tool holds (nothing here can reach AWS). `source` is the AWS pricing page of the service;
 * `evidence` says where the number itself was read: for most rows an extract of the AWS Price List
 * offer file for eu-west-1 (service, offer version, usage type), which is what the pricing page
 * renders. A price that could not be found is `'unknown'`, never a guess: the estimate then shows the
 * line as unknown and its total as incomplete (docs/cost.md "Prices").
 */

/** The date every row below was read. */
export const READ_ON = '2026-12-06';

/** Hours in a month, as AWS's own calculator and price pages count them (8,760 / 12). */
export const HOURS_PER_MONTH = 730;

/** Days in a month for per-day usage figures (365 / 12, rounded as AWS's calculator does). */
export const DAYS_PER_MONTH = 30.4;

/** One priced dimension in one region. */
export interface PriceRow {
  /** What is billed, e.g. `NAT gateway hour`. */
  readonly dimension: string;
  /** The billing unit of `usd`, e.g. `hour`, `GB-month`. */
  readonly unit: string;
  /** Price in USD per `unit`, or `'unknown'` when it could not be sourced. */
  readonly usd: number | 'unknown';
  /** The AWS pricing page for the service. */
  readonly source: string;
  /** Where the figure itself was read (Price List usage type and offer version, or a bill line). */
  readonly evidence: string;
  /** Date the row was read, `YYYY-MM-DD`. */
  readonly readOn: string;
}

const PRICE_LIST = 'AWS Price List offer file (pricing.us-east-1.amazonaws.com/offers/v1.0/aws/';
const ECS_OFFER = `${PRICE_LIST}AmazonECS/20260911124425/eu-west-1), via henderjm/world-cup-sweepstake docs/costs/aws-ireland-rates.json`;
const CW_OFFER = `${PRICE_LIST}AmazonCloudWatch/20260922021715/eu-west-1), via henderjm/world-cup-sweepstake docs/costs/aws-ireland-rates.json and mamtha4u/SDLC backend/config/pricing_eu-west-1.json`;
const LAMBDA_OFFER = `${PRICE_LIST}AWSLambda/20261001184746/eu-west-1), via mamtha4u/SDLC backend/config/pricing_eu-west-1.json`;
// A real eu-west-1 bill (Cost Explorer, July 2026) quoted in a public ADR; the row is its amount / quantity.
const BILL =
  'eu-west-1 Cost Explorer line quoted in a public ADR ("Always-On Production Cost Architecture", 2026-08-04)';

const row = (
  dimension: string,
  unit: string,
  usd: number | 'unknown',
  source: string,
  evidence: string,
): PriceRow => ({
  dimension,
  unit,
  usd,
  source,
  evidence,
  readOn: READ_ON,
});

const unknown = (dimension: string, unit: string, source: string, searched: string): PriceRow =>
  row(dimension, unit, 'unknown', source, `not found for this region: ${searched}`);

/**
 * The price table of eu-west-1, keyed by price id. The ids are what the estimator asks for; an id
 * may name a family (`rds.instance.postgres.<class>`), resolved by `priceOf`.
 */
const EU_WEST_1: Readonly<Record<string, PriceRow>> = {
  'fargate.vcpu-hour': row(
    'Fargate vCPU-hour (Linux/x86)',
    'vCPU-hour',
    0.04048,
    'https://aws.amazon.com/fargate/pricing/',
    `EU-Fargate-vCPU-Hours:perCPU, ${ECS_OFFER}`,
  ),
  'fargate.gb-hour': row(
    'Fargate GB-hour (Linux/x86)',
    'GB-hour',
    0.004445,
    'https://aws.amazon.com/fargate/pricing/',
    `EU-Fargate-GB-Hours, ${ECS_OFFER}`,
  ),
  'fargate.arm-vcpu-hour': unknown(
    'Fargate vCPU-hour (Linux/ARM)',
    'vCPU-hour',
    'https://aws.amazon.com/fargate/pricing/',
    'no eu-west-1 Price List extract of EU-Fargate-ARM-vCPU-Hours:perCPU',
  ),
  'fargate.arm-gb-hour': unknown(
    'Fargate GB-hour (Linux/ARM)',
    'GB-hour',
    'https://aws.amazon.com/fargate/pricing/',
    'no eu-west-1 Price List extract of EU-Fargate-ARM-GB-Hours',
  ),
  'fargate-spot-vcpu-hour': unknown(
    'Fargate Spot vCPU-hour',
    'vCPU-hour',
    'https://aws.amazon.com/fargate/pricing/',
    'Spot prices vary; no eu-west-1 figure was read',
  ),
  'fargate-spot-gb-hour': unknown(
    'Fargate Spot GB-hour',
    'GB-hour',
    'https://aws.amazon.com/fargate/pricing/',
    'Spot prices vary; no eu-west-1 figure was read',
  ),
  'fargate.ephemeral-gb-hour': unknown(
    'Fargate ephemeral storage beyond 20 GB, GB-hour',
    'GB-hour',
    'https://aws.amazon.com/fargate/pricing/',
    'no eu-west-1 extract of EU-Fargate-EphemeralStorage-GB-Hours',
  ),
  'rds.gp3.gb-month': row(
    'RDS gp3 storage, Single-AZ',
    'GB-month',
    0.127,
    'https://aws.amazon.com/rds/postgresql/pricing/',
    `EU-RDS:GP3-Storage $2.54 for 20 GiB-month, ${BILL}`,
  ),
  'rds.gp3.iops-month': unknown(
    'RDS gp3 provisioned IOPS above the 3,000 baseline',
    'IOPS-month',
    'https://aws.amazon.com/rds/postgresql/pricing/',
    'no eu-west-1 Price List extract of EU-RDS:GP3-PIOPS',
  ),
  'rds.backup.gb-month': unknown(
    'RDS backup storage beyond the free allowance',
    'GB-month',
    'https://aws.amazon.com/rds/postgresql/pricing/',
    'no eu-west-1 Price List extract of EU-RDS:ChargedBackupUsage',
  ),
  'rds.performance-insights.long-term': unknown(
    'RDS Performance Insights retention beyond the free 7 days',
    'vCPU-month',
    'https://aws.amazon.com/rds/performance-insights/pricing/',
    'no eu-west-1 Price List extract',
  ),
  'nat.hour': row(
    'NAT gateway hour',
    'hour',
    0.048,
    'https://aws.amazon.com/vpc/pricing/',
    `EU-NatGateway-Hours, ${PRICE_LIST}AmazonEC2/20260925174521/eu-west-1), extract kept in a public repository (README "AmazonEC2 / eu-west-1 capture", 2026-10-02)`,
  ),
  'nat.gb-processed': row(
    'NAT gateway data processed',
    'GB',
    0.048,
    'https://aws.amazon.com/vpc/pricing/',
    `EU-NatGateway-Bytes, ${PRICE_LIST}AmazonEC2/20260925174521/eu-west-1), same extract`,
  ),
  'ipv4.hour': row(
    'Public IPv4 address in use (Elastic IP, internet-facing load balancer node)',
    'address-hour',
    0.005,
    'https://aws.amazon.com/vpc/pricing/',
    `EU-PublicIPv4:InUseAddress, ${PRICE_LIST}AmazonVPC/20260917190528/eu-west-1), via henderjm/world-cup-sweepstake docs/costs/aws-ireland-rates.json`,
  ),
  'alb.hour': row(
    'Application Load Balancer hour',
    'hour',
    0.0252,
    'https://aws.amazon.com/elasticloadbalancing/pricing/',
    `EU-LoadBalancerUsage $15.00 for 595 hours, ${BILL}`,
  ),
  'alb.lcu-hour': row(
    'Application Load Balancer LCU-hour',
    'LCU-hour',
    0.008,
    'https://aws.amazon.com/elasticloadbalancing/pricing/',
    `EU-LCUUsage, ${PRICE_LIST}AWSELB/20260911124544/eu-west-1), quoted in a public test fixture of real rows`,
  ),
  'cloudwatch.alarm': row(
    'CloudWatch alarm metric, standard resolution',
    'alarm-metric-month',
    0.1,
    'https://aws.amazon.com/cloudwatch/pricing/',
    `EU-CW:AlarmMonitorUsage, ${CW_OFFER}`,
  ),
  'cloudwatch.alarm-high-resolution': unknown(
    'CloudWatch alarm metric, high resolution',
    'alarm-metric-month',
    'https://aws.amazon.com/cloudwatch/pricing/',
    'only a us-east-1 bill line ($0.30) was found',
  ),
  'cloudwatch.composite-alarm': unknown(
    'CloudWatch composite alarm',
    'alarm-month',
    'https://aws.amazon.com/cloudwatch/pricing/',
    'no eu-west-1 Price List extract of the composite alarm usage type',
  ),
  'cloudwatch.metric': row(
    'CloudWatch custom metric (first 10,000)',
    'metric-month',
    0.3,
    'https://aws.amazon.com/cloudwatch/pricing/',
    `EU-CW:MetricMonitorUsage, ${CW_OFFER}`,
  ),
  'cloudwatch.dashboard': row(
    'CloudWatch dashboard (beyond the 3 free per account)',
    'dashboard-month',
    3,
    'https://aws.amazon.com/cloudwatch/pricing/',
    'the pricing page\'s "$3 per dashboard per month" (one price in every region), quoted by several public repositories',
  ),
  'logs.ingest-gb': row(
    'CloudWatch Logs ingestion, Standard log class',
    'GB',
    0.57,
    'https://aws.amazon.com/cloudwatch/pricing/',
    `EU-DataProcessing-Bytes, ${CW_OFFER}`,
  ),
  'logs.infrequent-access-ingest-gb': unknown(
    'CloudWatch Logs ingestion, Infrequent Access log class',
    'GB',
    'https://aws.amazon.com/cloudwatch/pricing/',
    'no eu-west-1 Price List extract of the Infrequent Access ingestion usage type',
  ),
  'logs.vended-ingest-gb': unknown(
    'CloudWatch Logs ingestion of vended logs (VPC flow logs), first 10 TB',
    'GB',
    'https://aws.amazon.com/cloudwatch/pricing/',
    'no eu-west-1 Price List extract of EU-VendedLog-Bytes',
  ),
  'logs.storage-gb-month': row(
    'CloudWatch Logs storage',
    'GB-month',
    0.03,
    'https://aws.amazon.com/cloudwatch/pricing/',
    `EU-TimedStorage-ByteHrs, ${CW_OFFER}`,
  ),
  'secrets.secret-month': row(
    'Secrets Manager secret',
    'secret-month',
    0.4,
    'https://aws.amazon.com/secrets-manager/pricing/',
    `EU-AWSSecretsManager-Secrets, ${PRICE_LIST}AWSSecretsManager/20260911124610/eu-west-1), via henderjm/world-cup-sweepstake docs/costs/aws-ireland-rates.json`,
  ),
  'secrets.api-call': row(
    'Secrets Manager API call',
    'call',
    0.000005,
    'https://aws.amazon.com/secrets-manager/pricing/',
    `EU-AWSSecretsManager-APIRequests ($0.05 per 10,000), same offer file`,
  ),
  'kms.key-month': row(
    'KMS customer managed key',
    'key-month',
    1,
    'https://aws.amazon.com/kms/pricing/',
    'the pricing page\'s "$1.00/month per customer managed key" (one price in every commercial region), quoted by several public repositories',
  ),
  'ecr.gb-month': row(
    'ECR private repository storage',
    'GB-month',
    0.1,
    'https://aws.amazon.com/ecr/pricing/',
    `EU-TimedStorage-ByteHrs, ${PRICE_LIST}AmazonECR/20260911124425/eu-west-1), via henderjm/world-cup-sweepstake docs/costs/aws-ireland-rates.json`,
  ),
  's3.gb-month': row(
    'S3 Standard storage (first 50 TB)',
    'GB-month',
    0.023,
    'https://aws.amazon.com/s3/pricing/',
    `EU-TimedStorage-ByteHrs, ${PRICE_LIST}AmazonS3/20260928230416/eu-west-1), via henderjm/world-cup-sweepstake docs/costs/aws-ireland-rates.json`,
  ),
  'lambda.gb-second': row(
    'Lambda compute (x86), first 6 billion GB-seconds',
    'GB-second',
    0.0000166667,
    'https://aws.amazon.com/lambda/pricing/',
    `EU-Lambda-GB-Second, ${LAMBDA_OFFER}`,
  ),
  'lambda.arm-gb-second': row(
    'Lambda compute (Arm), first 7.5 billion GB-seconds',
    'GB-second',
    0.0000133334,
    'https://aws.amazon.com/lambda/pricing/',
    `EU-Lambda-GB-Second-ARM, ${LAMBDA_OFFER}`,
  ),
  'lambda.request': row(
    'Lambda request',
    'request',
    0.0000002,
    'https://aws.amazon.com/lambda/pricing/',
    `EU-Request, ${LAMBDA_OFFER}`,
  ),
  'sns.publish': row(
    'SNS API request beyond the first 1,000,000 a month (free)',
    'request',
    0.0000005,
    'https://aws.amazon.com/sns/pricing/',
    `EU-Requests-Tier1, ${PRICE_LIST}AmazonSNS/current/eu-west-1, published 2026-09-15), via mamtha4u/SDLC backend/config/pricing_eu-west-1.json`,
  ),
};

/**
 * RDS for PostgreSQL Single-AZ instance-hour, by class. Multi-AZ bills the primary and the standby
 * ("Compute costs: billed per DB instance-hour for both the primary and standby instances",
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_OnDemandDBInstances.html), so the
 * estimator doubles this row, and the storage row, for Multi-AZ.
 */
const RDS_POSTGRES_SINGLE_AZ: Readonly<Record<string, number | 'unknown'>> = {
  // Neither figure was found for eu-west-1 (the pricing page renders them dynamically, and no
  // Price List extract of EU-InstanceUsage:db.<class> for PostgreSQL was in the stored sources).
  'db.t3.medium': 'unknown',
  'db.r6g.large': 'unknown',
};

/** The price tables by region. A region environments/ uses must be here (test/cost/prices.test.ts). */
export const PRICE_TABLES: Readonly<Record<string, Readonly<Record<string, PriceRow>>>> = {
  'eu-west-1': {
    ...EU_WEST_1,
    ...Object.fromEntries(
      Object.entries(RDS_POSTGRES_SINGLE_AZ).map(([cls, usd]) => [
        `rds.instance.postgres.${cls}`,
        usd === 'unknown'
          ? unknown(
              `RDS for PostgreSQL ${cls} instance-hour, Single-AZ`,
              'instance-hour',
              'https://aws.amazon.com/rds/postgresql/pricing/',
              `no eu-west-1 Price List extract of EU-InstanceUsage:${cls} (PostgreSQL)`,
            )
          : row(
              `RDS for PostgreSQL ${cls} instance-hour, Single-AZ`,
              'instance-hour',
              usd,
              'https://aws.amazon.com/rds/postgresql/pricing/',
              `EU-InstanceUsage:${cls}`,
            ),
      ]),
    ),
  },
};

/** The row `id` names in `region`, or a row that says it is missing (never a made-up figure). */
export function priceOf(region: string, id: string): PriceRow & { readonly id: string } {
  const found = PRICE_TABLES[region]?.[id];
  if (found) return { id, ...found };
  return {
    id,
    ...unknown(
      id,
      '?',
      'lib/cost/prices.ts',
      PRICE_TABLES[region] ? `no row "${id}" in the ${region} table` : `no price table for region ${region}`,
    ),
  };
}
