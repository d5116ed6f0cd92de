/**
 * How each CloudFormation resource type is billed: priced (fixed and/or usage lines), free, or billed
 * by use but not estimated. Every type any template holds must be here (test/cost/coverage.test.ts):
 * a new kind of resource forces a decision, never a silent zero.
 */
import type { CfnResource, CfnTemplate } from '../diff/template';
import { resourcesOf } from '../diff/template';
import type { LineDraft, PricerContext } from './estimate';
import { DAYS_PER_MONTH, HOURS_PER_MONTH } from './prices';

/** A type whose resources produce cost lines. */
export interface Priced {
  readonly treatment: 'priced';
  /** Billing service, for grouping (`VPC`, `RDS`, …). */
  readonly service: string;
  readonly price: (context: PricerContext) => LineDraft[];
}

/** A type that costs nothing by itself (its cost, if any, is billed on another resource). */
export interface Free {
  readonly treatment: 'free';
  readonly service: string;
  /** Why it is free, or where its cost is counted. */
  readonly reason: string;
}

/** A type billed by use that the estimate deliberately leaves out. */
export interface NotEstimated {
  readonly treatment: 'usage-not-estimated';
  readonly service: string;
  /** What is billed and why it is left out. */
  readonly reason: string;
}

export type Coverage = Priced | Free | NotEstimated;

// Template JSON: pricers narrow what they read.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Props = Record<string, any>;
const propsOf = (resource: CfnResource): Props => (resource.Properties ?? {}) as Props;

const free = (service: string, reason: string): Free => ({ treatment: 'free', service, reason });

/** The logical id a `{ Ref }` or `{ Fn::GetAtt: [id, …] }` points at. */
function targetOf(value: unknown): string | undefined {
  if (value && typeof value === 'object') {
    const ref = (value as Props).Ref;
    if (typeof ref === 'string') return ref;
    const getAtt = (value as Props)['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  }
  return undefined;
}

function countOfType(template: CfnTemplate, type: string): number {
  return Object.values(resourcesOf(template)).filter((r) => r.Type === type).length;
}

/** Whether `value` mentions logical id `id` anywhere (Ref, GetAtt). */
function mentions(value: unknown, id: string): boolean {
  if (Array.isArray(value)) return value.some((v) => mentions(v, id));
  if (value && typeof value === 'object') {
    if (targetOf(value) === id) return true;
    return Object.values(value).some((v) => mentions(v, id));
  }
  return false;
}

const hours = (count: number, what: string): LineDraft['basis'] =>
  count === 1 ? `${HOURS_PER_MONTH} h` : `${count} ${what} × ${HOURS_PER_MONTH} h`;

const usageBasis = (field: string, value: number, extra = ''): string =>
  `cost.usage.${field} = ${value}${extra}`;

/**
 * ECS on Fargate: the tasks a service runs: its DesiredCount, else the MinCapacity of the scalable
 * target that targets it, else the config's count for its name, else ECS's default.
 */
function fargateService({ logicalId, resource, template, inputs }: PricerContext): LineDraft[] {
  const p = propsOf(resource);
  const resources = resourcesOf(template);
  const providers: string[] = Array.isArray(p.CapacityProviderStrategy)
    ? p.CapacityProviderStrategy.map((s: Props) => String(s.CapacityProvider))
    : [];
  const fargate = p.LaunchType === 'FARGATE' || providers.some((name) => name.startsWith('FARGATE'));
  // Fargate Spot has its own (lower, varying) price: never price it as on-demand.
  const spot = providers.includes('FARGATE_SPOT');
  const task = resources[targetOf(p.TaskDefinition) ?? ''];
  if (!fargate || !task) {
    return [
      {
        priceId: 'ecs.ec2-capacity',
        quantity: 1,
        kind: 'fixed',
        basis: 'not on Fargate: capacity is billed elsewhere',
      },
    ];
  }
  const t = propsOf(task);
  let tasks: number;
  let source: string;
  const scaling = Object.values(resources).find(
    (r) =>
      r.Type === 'AWS::ApplicationAutoScaling::ScalableTarget' && mentions(propsOf(r).ResourceId, logicalId),
  );
  // The template's own evidence first, so each side of a change is priced with its own counts
  // (lib/cost/delta.ts); the config only where the template says nothing (the bot).
  let configCount: string | undefined;
  if (typeof p.DesiredCount === 'number') {
    tasks = p.DesiredCount;
    source = 'DesiredCount';
  } else if (scaling && typeof propsOf(scaling).MinCapacity === 'number') {
    tasks = propsOf(scaling).MinCapacity;
    source = 'autoscaling minimum';
  } else if (typeof p.ServiceName === 'string' && inputs.serviceTaskCounts[p.ServiceName] !== undefined) {
    tasks = inputs.serviceTaskCounts[p.ServiceName];
    source = 'config desiredCount';
    configCount = p.ServiceName;
  } else {
    // AWS::ECS::Service: "If no value is specified, the default value is 1" (on create).
    tasks = 1;
    source = "ECS's default";
  }
  const vcpu = Number(t.Cpu) / 1024;
  const gb = Number(t.Memory) / 1024;
  const arm = t.RuntimePlatform?.CpuArchitecture === 'ARM64';
  const family = spot ? 'fargate-spot' : arm ? 'fargate.arm' : 'fargate';
  const basis = `${tasks} task${tasks === 1 ? '' : 's'} (${source}) × ${HOURS_PER_MONTH} h`;
  const fromConfig = configCount === undefined ? {} : { configCount };
  const lines: LineDraft[] = [
    {
      priceId: family === 'fargate' ? 'fargate.vcpu-hour' : `${family}-vcpu-hour`,
      quantity: tasks * HOURS_PER_MONTH * vcpu,
      kind: 'fixed',
      basis: `${basis} × ${vcpu} vCPU`,
      ...fromConfig,
    },
    {
      priceId: family === 'fargate' ? 'fargate.gb-hour' : `${family}-gb-hour`,
      quantity: tasks * HOURS_PER_MONTH * gb,
      kind: 'fixed',
      basis: `${basis} × ${gb} GB`,
      ...fromConfig,
    },
  ];
  const ephemeral = Number(t.EphemeralStorage?.SizeInGiB ?? 20);
  // Fargate includes 20 GB of ephemeral storage per task; only the rest is billed.
  if (ephemeral > 20) {
    lines.push({
      priceId: 'fargate.ephemeral-gb-hour',
      quantity: tasks * HOURS_PER_MONTH * (ephemeral - 20),
      kind: 'fixed',
      basis: `${basis} × ${ephemeral - 20} GB beyond the included 20`,
      ...fromConfig,
    });
  }
  return lines;
}

/** RDS: instance-hours (both instances when Multi-AZ), storage, IOPS above the gp3 baseline, backups. */
function rdsInstance({ resource, inputs }: PricerContext): LineDraft[] {
  const p = propsOf(resource);
  // Multi-AZ bills primary and standby: instance-hours and storage twice (USER_OnDemandDBInstances).
  const copies = p.MultiAZ === true || p.MultiAZ === 'true' ? 2 : 1;
  const azText = copies === 2 ? ' × 2 (Multi-AZ: primary and standby)' : '';
  const engine = String(p.Engine ?? 'unknown');
  const storageType = String(p.StorageType ?? 'gp2');
  const storage = Number(p.AllocatedStorage ?? 0);
  const lines: LineDraft[] = [
    {
      priceId: `rds.instance.${engine}.${p.DBInstanceClass}`,
      quantity: HOURS_PER_MONTH * copies,
      kind: 'fixed',
      basis: `${HOURS_PER_MONTH} h${azText}`,
    },
    {
      priceId: `rds.${storageType}.gb-month`,
      quantity: storage * copies,
      kind: 'fixed',
      basis: `${storage} GB allocated${azText}`,
    },
  ];
  if (storageType === 'gp3' && p.Iops !== undefined) {
    // gp3 on RDS includes 3,000 IOPS below 400 GB and 12,000 from 400 GB (RDS User Guide, "gp3 storage").
    const baseline = storage >= 400 ? 12000 : 3000;
    lines.push({
      priceId: 'rds.gp3.iops-month',
      quantity: Math.max(0, Number(p.Iops) - baseline) * copies,
      kind: 'fixed',
      basis: `${p.Iops} IOPS − ${baseline} included${azText}`,
    });
  }
  if (p.EnablePerformanceInsights === true && Number(p.PerformanceInsightsRetentionPeriod ?? 7) > 7) {
    lines.push({
      priceId: 'rds.performance-insights.long-term',
      quantity: 1,
      kind: 'fixed',
      basis: `Performance Insights kept ${p.PerformanceInsightsRetentionPeriod} days (7 are free)`,
    });
  }
  const backup = inputs.usage.databaseBackupGbBeyondFree;
  lines.push({
    priceId: 'rds.backup.gb-month',
    quantity: backup,
    kind: 'usage',
    basis: usageBasis('databaseBackupGbBeyondFree', backup, ' GB'),
  });
  return lines;
}

/** A CloudWatch alarm bills each metric it evaluates; high resolution (period < 60 s) costs more. */
function alarm({ resource }: PricerContext): LineDraft[] {
  const p = propsOf(resource);
  const stats: Props[] = Array.isArray(p.Metrics) ? p.Metrics.filter((m: Props) => m.MetricStat) : [];
  // An anomaly-detection alarm bills its metric and the band's upper and lower bound: 3 metrics
  // (CloudWatch pricing, "Alarms").
  const bands: number = Array.isArray(p.Metrics)
    ? p.Metrics.filter((m: Props) => /ANOMALY_DETECTION_BAND\s*\(/.test(String(m.Expression ?? ''))).length
    : 0;
  const metrics = (Array.isArray(p.Metrics) ? Math.max(1, stats.length) : 1) + 2 * bands;
  const periods = [p.Period, ...stats.map((m) => m.MetricStat.Period)].filter((x) => typeof x === 'number');
  const highResolution = periods.some((period) => period < 60);
  return [
    {
      priceId: highResolution ? 'cloudwatch.alarm-high-resolution' : 'cloudwatch.alarm',
      quantity: metrics,
      kind: 'fixed',
      basis: metrics === 1 ? '1 metric' : `${metrics} metrics`,
    },
  ];
}

/** Log groups: ingestion and steady-state storage, from the usage profile. */
function logGroup({ logicalId, resource, template, inputs }: PricerContext): LineDraft[] {
  const p = propsOf(resource);
  const u = inputs.usage;
  const name = typeof p.LogGroupName === 'string' ? p.LogGroupName : undefined;
  const flowLogDestination = Object.values(resourcesOf(template)).some(
    (r) => r.Type === 'AWS::EC2::FlowLog' && mentions(propsOf(r).LogGroupName, logicalId),
  );
  let gbPerDay: number;
  let field: string;
  const own = name ? inputs.logGroupGbPerDay[name] : undefined;
  if (flowLogDestination) {
    gbPerDay = u.flowLogGbPerDay;
    field = 'flowLogGbPerDay';
  } else if (own) {
    ({ gbPerDay, field } = own);
  } else {
    gbPerDay = u.otherLogGbPerLogGroupPerDay;
    field = 'otherLogGbPerLogGroupPerDay';
  }
  // Without a retention the group keeps everything; a year of it is what the estimate shows.
  const retentionDays = typeof p.RetentionInDays === 'number' ? p.RetentionInDays : 365;
  return [
    {
      // Flow logs are "vended logs", and the Infrequent Access class has its own price.
      priceId: flowLogDestination
        ? 'logs.vended-ingest-gb'
        : p.LogGroupClass === 'INFREQUENT_ACCESS'
          ? 'logs.infrequent-access-ingest-gb'
          : 'logs.ingest-gb',
      quantity: gbPerDay * DAYS_PER_MONTH,
      kind: 'usage',
      basis: usageBasis(field, gbPerDay, ` GB/day × ${DAYS_PER_MONTH} days`),
    },
    {
      priceId: 'logs.storage-gb-month',
      quantity: gbPerDay * retentionDays,
      kind: 'usage',
      basis: usageBasis(field, gbPerDay, ` GB/day × ${retentionDays} days kept`),
    },
  ];
}

/** Lambda: requests and GB-seconds from the usage profile, memory and architecture from the template. */
function lambdaFunction({ resource, inputs }: PricerContext): LineDraft[] {
  const p = propsOf(resource);
  const u = inputs.usage;
  const memoryGb = Number(p.MemorySize ?? 128) / 1024;
  const arm = Array.isArray(p.Architectures) && p.Architectures.includes('arm64');
  const invocations = u.lambdaInvocationsPerFunctionPerMonth;
  return [
    {
      priceId: 'lambda.request',
      quantity: invocations,
      kind: 'usage',
      basis: usageBasis('lambdaInvocationsPerFunctionPerMonth', invocations),
    },
    {
      priceId: arm ? 'lambda.arm-gb-second' : 'lambda.gb-second',
      quantity: invocations * (u.lambdaAverageDurationMs / 1000) * memoryGb,
      kind: 'usage',
      basis: `${invocations} × cost.usage.lambdaAverageDurationMs = ${u.lambdaAverageDurationMs} ms × ${memoryGb} GB`,
    },
  ];
}

/**
 * Every resource type the project's templates hold, and how each is billed. Add a type here when a
 * template gains one: test/cost/coverage.test.ts fails until you do.
 */
export const COVERAGE: Readonly<Record<string, Coverage>> = {
  // --- Priced -----------------------------------------------------------------------------------
  'AWS::EC2::NatGateway': {
    treatment: 'priced',
    service: 'VPC',
    price: ({ template, inputs }) => {
      const gateways = countOfType(template, 'AWS::EC2::NatGateway');
      const gb = inputs.usage.natProcessedGbPerMonth / gateways;
      return [
        { priceId: 'nat.hour', quantity: HOURS_PER_MONTH, kind: 'fixed', basis: hours(1, 'gateways') },
        {
          priceId: 'nat.gb-processed',
          quantity: gb,
          kind: 'usage',
          basis: usageBasis(
            'natProcessedGbPerMonth',
            inputs.usage.natProcessedGbPerMonth,
            ` GB ÷ ${gateways} gateways`,
          ),
        },
      ];
    },
  },
  'AWS::EC2::EIP': {
    treatment: 'priced',
    service: 'VPC',
    // Every public IPv4 address is billed by the hour since 2024-02-01, attached or not.
    price: () => [
      { priceId: 'ipv4.hour', quantity: HOURS_PER_MONTH, kind: 'fixed', basis: hours(1, 'addresses') },
    ],
  },
  'AWS::ElasticLoadBalancingV2::LoadBalancer': {
    treatment: 'priced',
    service: 'Elastic Load Balancing',
    price: ({ resource, inputs }) => {
      const p = propsOf(resource);
      const type = String(p.Type ?? 'application');
      const lines: LineDraft[] = [
        {
          priceId: type === 'application' ? 'alb.hour' : `${type}-lb.hour`,
          quantity: HOURS_PER_MONTH,
          kind: 'fixed',
          basis: hours(1, 'load balancers'),
        },
      ];
      if (p.Scheme !== 'internal') {
        // An internet-facing load balancer holds a public IPv4 address in each of its subnets.
        const subnets = Array.isArray(p.Subnets)
          ? p.Subnets.length
          : Array.isArray(p.SubnetMappings)
            ? p.SubnetMappings.length
            : 0;
        lines.push({
          priceId: 'ipv4.hour',
          quantity: subnets * HOURS_PER_MONTH,
          kind: 'fixed',
          basis: `${subnets} public addresses (one per subnet) × ${HOURS_PER_MONTH} h`,
        });
      }
      lines.push({
        priceId: type === 'application' ? 'alb.lcu-hour' : `${type}-lb.lcu-hour`,
        quantity: inputs.usage.albLcuPerHour * HOURS_PER_MONTH,
        kind: 'usage',
        basis: usageBasis('albLcuPerHour', inputs.usage.albLcuPerHour, ` LCU × ${HOURS_PER_MONTH} h`),
      });
      return lines;
    },
  },
  'AWS::ECS::Service': { treatment: 'priced', service: 'ECS on Fargate', price: fargateService },
  'AWS::ECS::Cluster': {
    treatment: 'priced',
    service: 'CloudWatch',
    price: ({ resource, inputs }) => {
      const u = inputs.usage;
      const settings: Props[] = propsOf(resource).ClusterSettings ?? [];
      const insights = settings.some((s) => s.Name === 'containerInsights' && s.Value !== 'disabled');
      const lines: LineDraft[] = [
        {
          priceId: 'cloudwatch.metric',
          quantity: u.applicationCustomMetrics,
          kind: 'usage',
          basis: usageBasis(
            'applicationCustomMetrics',
            u.applicationCustomMetrics,
            ' metrics the services publish',
          ),
        },
      ];
      if (insights) {
        lines.push(
          {
            priceId: 'cloudwatch.metric',
            quantity: u.containerInsightsMetrics,
            kind: 'usage',
            basis: usageBasis(
              'containerInsightsMetrics',
              u.containerInsightsMetrics,
              ' (Container Insights is on)',
            ),
          },
          {
            priceId: 'logs.ingest-gb',
            quantity: u.containerInsightsLogGbPerDay * DAYS_PER_MONTH,
            kind: 'usage',
            basis: usageBasis(
              'containerInsightsLogGbPerDay',
              u.containerInsightsLogGbPerDay,
              ` GB/day × ${DAYS_PER_MONTH} days`,
            ),
          },
        );
      }
      return lines;
    },
  },
  'AWS::RDS::DBInstance': { treatment: 'priced', service: 'RDS', price: rdsInstance },
  'AWS::CloudWatch::Alarm': { treatment: 'priced', service: 'CloudWatch', price: alarm },
  'AWS::CloudWatch::CompositeAlarm': {
    treatment: 'priced',
    service: 'CloudWatch',
    price: () => [{ priceId: 'cloudwatch.composite-alarm', quantity: 1, kind: 'fixed', basis: '1 alarm' }],
  },
  'AWS::CloudWatch::Dashboard': {
    treatment: 'priced',
    service: 'CloudWatch',
    // The account's first 3 dashboards are free; the estimate cannot know what else the account has.
    price: () => [
      {
        priceId: 'cloudwatch.dashboard',
        quantity: 1,
        kind: 'fixed',
        basis: '1 dashboard (3 free per account not deducted)',
      },
    ],
  },
  'AWS::Logs::MetricFilter': {
    treatment: 'priced',
    service: 'CloudWatch',
    // Each transformation publishes one custom metric; counted as present all month.
    price: ({ resource }) => {
      const n = (propsOf(resource).MetricTransformations ?? []).length;
      return [
        {
          priceId: 'cloudwatch.metric',
          quantity: n,
          kind: 'fixed',
          basis: `${n} metric${n === 1 ? '' : 's'}`,
        },
      ];
    },
  },
  'AWS::Logs::LogGroup': { treatment: 'priced', service: 'CloudWatch Logs', price: logGroup },
  'AWS::KMS::Key': {
    treatment: 'priced',
    service: 'KMS',
    price: () => [{ priceId: 'kms.key-month', quantity: 1, kind: 'fixed', basis: '1 key' }],
  },
  'AWS::SecretsManager::Secret': {
    treatment: 'priced',
    service: 'Secrets Manager',
    price: ({ template, inputs }) => {
      const secrets = countOfType(template, 'AWS::SecretsManager::Secret');
      const calls = inputs.usage.secretsApiCallsPerMonth;
      return [
        { priceId: 'secrets.secret-month', quantity: 1, kind: 'fixed', basis: '1 secret' },
        {
          priceId: 'secrets.api-call',
          quantity: calls / secrets,
          kind: 'usage',
          basis: usageBasis('secretsApiCallsPerMonth', calls, ` ÷ ${secrets} secrets`),
        },
      ];
    },
  },
  'AWS::Lambda::Function': { treatment: 'priced', service: 'Lambda', price: lambdaFunction },
  'AWS::SNS::Topic': {
    treatment: 'priced',
    service: 'SNS',
    price: ({ template, inputs }) => {
      const topics = countOfType(template, 'AWS::SNS::Topic');
      const publishes = inputs.usage.snsPublishesPerMonth;
      // The first million requests a month are free (per account).
      const billable = Math.max(0, publishes - 1_000_000) / topics;
      return [
        {
          priceId: 'sns.publish',
          quantity: billable,
          kind: 'usage',
          basis: usageBasis('snsPublishesPerMonth', publishes, ` − 1,000,000 free, ÷ ${topics} topics`),
        },
      ];
    },
  },
  'AWS::ECR::Repository': {
    treatment: 'priced',
    service: 'ECR',
    price: ({ inputs }) => [
      {
        priceId: 'ecr.gb-month',
        quantity: inputs.usage.ecrStoredGbPerRepository,
        kind: 'usage',
        basis: usageBasis('ecrStoredGbPerRepository', inputs.usage.ecrStoredGbPerRepository, ' GB'),
      },
    ],
  },
  'AWS::S3::Bucket': {
    treatment: 'priced',
    service: 'S3',
    price: ({ inputs }) => [
      {
        priceId: 's3.gb-month',
        quantity: inputs.usage.s3StoredGbPerBucket,
        kind: 'usage',
        basis: usageBasis('s3StoredGbPerBucket', inputs.usage.s3StoredGbPerBucket, ' GB'),
      },
    ],
  },

  // --- Billed by use, not estimated ---------------------------------------------------------------
  'AWS::SNS::Subscription': {
    treatment: 'usage-not-estimated',
    service: 'SNS',
    reason:
      'e-mail and HTTPS deliveries are billed per notification; a few thousand alarm messages cost cents',
  },
  'AWS::ECR::ReplicationConfiguration': {
    treatment: 'usage-not-estimated',
    service: 'ECR',
    reason:
      'replication is billed as data transfer of the replicated images (same region: none); storage is counted on the repositories',
  },

  // --- Free ---------------------------------------------------------------------------------------
  'AWS::CDK::Metadata': free('CDK', 'template metadata, not a resource'),
  'AWS::EC2::VPC': free('VPC', 'no charge for the VPC itself'),
  'AWS::EC2::Subnet': free('VPC', 'no charge'),
  'AWS::EC2::RouteTable': free('VPC', 'no charge'),
  'AWS::EC2::Route': free('VPC', 'no charge'),
  'AWS::EC2::SubnetRouteTableAssociation': free('VPC', 'no charge'),
  'AWS::EC2::InternetGateway': free('VPC', 'no charge (data out is billed as data transfer)'),
  'AWS::EC2::VPCGatewayAttachment': free('VPC', 'no charge'),
  'AWS::EC2::SecurityGroup': free('VPC', 'no charge'),
  'AWS::EC2::SecurityGroupIngress': free('VPC', 'no charge'),
  'AWS::EC2::SecurityGroupEgress': free('VPC', 'no charge'),
  'AWS::EC2::FlowLog': free(
    'VPC',
    'billed as the vended-log ingestion of its destination log group, priced there',
  ),
  'AWS::ECS::TaskDefinition': free('ECS on Fargate', 'billed through the service that runs it'),
  'AWS::ElasticLoadBalancingV2::Listener': free(
    'Elastic Load Balancing',
    'billed as LCUs of its load balancer',
  ),
  'AWS::ElasticLoadBalancingV2::ListenerRule': free(
    'Elastic Load Balancing',
    'billed as LCUs of its load balancer',
  ),
  'AWS::ElasticLoadBalancingV2::TargetGroup': free(
    'Elastic Load Balancing',
    'billed as LCUs of its load balancer',
  ),
  'AWS::ApplicationAutoScaling::ScalableTarget': free(
    'Application Auto Scaling',
    'no charge beyond the scaled tasks',
  ),
  'AWS::ApplicationAutoScaling::ScalingPolicy': free(
    'Application Auto Scaling',
    'target tracking creates alarms that are billed like any alarm but are not in the template (a few cents)',
  ),
  'AWS::IAM::Role': free('IAM', 'no charge'),
  'AWS::IAM::Policy': free('IAM', 'no charge'),
  'AWS::Lambda::Permission': free('Lambda', 'no charge'),
  'AWS::Lambda::EventInvokeConfig': free('Lambda', 'no charge'),
  'AWS::Logs::ResourcePolicy': free('CloudWatch Logs', 'no charge'),
  'AWS::Events::Rule': free(
    'EventBridge',
    // https://aws.amazon.com/eventbridge/pricing/ ("AWS management events are ingested by the event
    // bus for free"); AWS Price List AWSEvents: "$0 for the first 14 million scheduled invocations".
    'rules cost nothing; events AWS services send to the default bus and the first 14 million scheduled invocations a month are free (only custom, partner and cross-account events are billed)',
  ),
  'AWS::RDS::DBParameterGroup': free('RDS', 'no charge'),
  'AWS::RDS::DBSubnetGroup': free('RDS', 'no charge'),
  'AWS::RDS::EventSubscription': free('RDS', 'no charge; its notifications are SNS publishes'),
  'AWS::S3::BucketPolicy': free('S3', 'no charge'),
  'AWS::SNS::TopicPolicy': free('SNS', 'no charge'),
  'AWS::SecretsManager::SecretTargetAttachment': free('Secrets Manager', 'no charge'),
  'AWS::ECR::RegistryPolicy': free('ECR', 'no charge'),
  'Custom::DatabaseMigrations': free('Lambda', 'billed as invocations of its Lambda functions, priced there'),
  'Custom::VpcRestrictDefaultSG': free(
    'Lambda',
    'billed as invocations of its Lambda function, priced there',
  ),
};
