/**
 * The typed configuration of one Clever Better environment.
 *
 * Every value of the old Terraform tfvars lives here. Constructs receive these values and never
 * an environment name, so the difference between staging and production is readable in one place:
 * `environments/production.ts` lists what production does differently from `environments/base.ts`.
 */

/** Names of the environments this application deploys. Each lives in its own AWS account. */
export type EnvironmentName = 'staging' | 'production';

/** Sizing and release settings of one ECS Fargate service. */
export interface ServiceConfig {
  /** Task CPU in Fargate CPU units (1024 = 1 vCPU). Must pair with `memoryMiB` as Fargate allows. */
  readonly cpu: number;
  /** Task memory in MiB. Must pair with `cpu` as Fargate allows. */
  readonly memoryMiB: number;
  /**
   * Number of tasks the service runs. For `bot` this is the count `ops resume` restores and must be
   * 0 or 1 (two bots would trade twice); it is never written into the service template, so a deploy
   * cannot undo an emergency scale-to-zero. For `ml-service` it is the autoscaling minimum.
   */
  readonly desiredCount: number;
  /**
   * Image tag deployed from the service's ECR repository. Bumping it is a reviewed pull request whose
   * `cdk diff` shows the task-definition change. Mutable tags (`latest`, …) are refused where
   * `allowMutableImageTags` is false.
   */
  readonly imageTag: string;
  /**
   * Digest of the image to run, `sha256:` and 64 hex digits. When set, the task definition pulls
   * `repository@<digest>`: exactly those bytes, whatever `imageTag` points at, and `imageTag` stays
   * beside it as the readable name (a Docker label on the container). Required where
   * `requireImageDigests` is true; `npm run ops -- release` writes it.
   * @default none: the image is pulled by `imageTag`
   */
  readonly imageDigest?: string;
  /** Port the container listens on, and the port its `/health` endpoint answers on. */
  readonly containerPort: number;
  /**
   * Seconds ECS ignores failing load-balancer health checks after a task starts: the service's
   * start-up time (ml-service loads its model) plus a margin. Part of the worst-case replacement
   * time (grace + interval × healthy threshold + deregistration delay). Validated 0–600. @default 30
   */
  readonly healthCheckGracePeriodSeconds: number;
}

/** The ML prediction service: a `ServiceConfig` plus its autoscaling range. */
export interface MlServiceConfig extends ServiceConfig {
  /** Upper bound of the autoscaling range, in tasks. At least `desiredCount`. */
  readonly maxCount: number;
  /** Average CPU utilisation, in percent, that target tracking keeps the service at. */
  readonly targetCpuUtilizationPercent: number;
}

/** The RDS for PostgreSQL instance. */
export interface DatabaseConfig {
  /** RDS instance class including the `db.` prefix, e.g. `db.t3.medium`. Validated against a known list. */
  readonly instanceClass: string;
  /** Allocated storage in GiB (gp3: 20–65536). */
  readonly allocatedStorageGiB: number;
  /** Storage autoscaling ceiling in GiB; at least `allocatedStorageGiB`. */
  readonly maxAllocatedStorageGiB: number;
  /** Standby in a second AZ. Staging runs single-AZ (a documented cdk-nag/checkov exception). */
  readonly multiAz: boolean;
  /** Automated backup retention in days (7–35; Security Hub RDS.11 asks for at least 7). */
  readonly backupRetentionDays: number;
  /** Refuse `DeleteDBInstance` until switched off; takes effect once `stackCreated` is true. */
  readonly deletionProtection: boolean;
  /**
   * What happens to the instance when it leaves the stack: `snapshot` takes a final snapshot,
   * `retain` keeps the instance. Data is never simply destroyed.
   */
  readonly removalPolicy: 'snapshot' | 'retain';
  /** Enhanced monitoring interval in seconds (0 = off; 1, 5, 10, 15, 30 or 60). */
  readonly monitoringIntervalSeconds: 0 | 1 | 5 | 10 | 15 | 30 | 60;
}

/** The VPC. */
export interface NetworkConfig {
  /** IPv4 CIDR of the VPC. */
  readonly cidr: string;
  /**
   * Availability zones, explicit so synth needs no AWS lookup. At least two (the ALB and the RDS
   * subnet group need two), all in the environment's region.
   */
  readonly availabilityZones: readonly string[];
  /** NAT gateways: 1 saves money, one per AZ survives an AZ outage. Between 1 and the AZ count. */
  readonly natGateways: number;
  /** Days VPC flow logs are kept. */
  readonly flowLogRetentionDays: number;
}

/** Thresholds of the alarms that stop trading (see docs/metrics.md for the metrics the bot publishes). */
export interface EmergencyStopConfig {
  /**
   * Realised loss, in account currency (positive), within `lossWindowMinutes` that stops trading:
   * the alarm fires when the bot's `NetProfit` summed over the window is at or below `-lossLimit`.
   * @default 500
   */
  readonly lossLimit: number;
  /**
   * Window over which `NetProfit` is summed, in minutes (1–1440): one alarm period, evaluated as a
   * sliding window every minute. @default 60
   */
  readonly lossWindowMinutes: number;
  /** Bot `Errors` per minute (a whole number, at least 1) that count as an error storm. @default 50 */
  readonly errorStormPerMinute: number;
  /**
   * Consecutive minutes (1–60) the error rate must stay at or above `errorStormPerMinute` before
   * stopping. @default 3
   */
  readonly errorStormMinutes: number;
  /**
   * Open liability, in account currency, that stops trading: the bot's `OpenLiability` gauge at or
   * above it in any minute. @default 1000
   */
  readonly maxOpenLiability: number;
  /**
   * Loss for the trading day (midnight to midnight Europe/London), in account currency (positive),
   * that stops trading: `RealisedPnLToday - OpenLiability` at or below minus this value in any minute,
   * so a day's losses count before they settle. @default 1000
   */
  readonly dailyLossLimit: number;
  /**
   * Bets placed in one minute (`BetsPlaced`) that count as a runaway bot, a whole number of at least
   * 1. @default 30
   */
  readonly maxBetsPerMinute: number;
}

/** Settings of the rollback function and of the deployment alarms (see issue 5 and docs/operations.md "Rollback"). */
export interface RollbackConfig {
  /** Whether the post-deployment alarm triggers an automatic rollback of the bot. Off by default in production. */
  readonly alarmActionEnabled: boolean;
  /**
   * Hours after a deployment finished during which the alarm action may roll it back. Later, an
   * alarm notifies the on-call person but rolls nothing back: the version has proven itself and the
   * cause is more likely elsewhere (e.g. Betfair). 1–168. @default 24
   */
  readonly alarmWindowHours: number;
  /** ALB target 5xx responses per minute, per service, that mark a deployment as bad. @default 5 */
  readonly target5xxPerMinute: number;
  /**
   * Consecutive one-minute periods a deployment alarm (5xx, unhealthy targets, bot errors) must breach
   * before ECS rolls back. 1–5. @default 2
   */
  readonly deploymentAlarmMinutes: number;
  /**
   * Minutes the rollback function waits for the service to become stable before it reports
   * "not yet stable" (the rollback itself continues in ECS). 1–13, so the 15-minute Lambda limit
   * leaves room to report. @default 10
   */
  readonly waitForStableMinutes: number;
}

/**
 * When the bot is expected to place bets: the "bot stopped trading" alarm looks only at these hours.
 * CloudWatch metric math evaluates them in UTC (its `HOUR()`/`DAY()` functions know no time zone).
 */
export interface RacingHoursConfig {
  /** First UTC hour (0–23) of the window, inclusive. @default 12 */
  readonly startHourUtc: number;
  /** UTC hour (1–24) the window ends, exclusive; after `startHourUtc`. @default 17 */
  readonly endHourUtc: number;
  /**
   * Days the window applies, 1 = Monday … 7 = Sunday (CloudWatch's `DAY()` numbering). An empty list
   * means no bets are expected on any day: the "no bets" alarm is then not created, while the
   * "bot silent" alarm still is. @default all seven days
   */
  readonly daysOfWeek: readonly number[];
}

/**
 * Thresholds of the monitoring alarms (lib/monitoring, docs/runbooks.md). Counts "per 5 minutes"
 * alarm when they reach the value (>=); percentages, latencies and connections when they exceed it.
 */
export interface MonitoringConfig {
  /**
   * Target response time (p90) above which latency alarms, in seconds. The guide's runbook says 1 s.
   * @default 1
   */
  readonly latencyP90Seconds: number;
  /**
   * Minutes with no `BetsPlaced` during racing hours that count as "bot stopped trading". A multiple
   * of 5 (the alarm looks at 5-minute sums), 10–720. @default 60
   */
  readonly noBetsWindowMinutes: number;
  /** When bets are expected; outside it, no bets is normal. */
  readonly racingHours: RacingHoursConfig;
  /**
   * Minutes without a single `BetsPlaced` data point (the bot publishes one every minute, 0 included)
   * that count as a silent bot, at any hour. 2–60. @default 10
   */
  readonly silentBotMinutes: number;
  /** `ERROR` log lines per 5 minutes in `/ecs/clever-better-bot` that alarm. @default 20 */
  readonly botErrorLinesPer5Minutes: number;
  /**
   * Betfair authentication failures (session, login, app-key errors) in the bot's log per 5 minutes
   * that alarm. @default 5
   */
  readonly betfairAuthFailuresPer5Minutes: number;
  /**
   * Betfair rate-limit errors (`TOO_MANY_REQUESTS`, …) in the bot's log per 5 minutes that alarm.
   * @default 10
   */
  readonly betfairRateLimitsPer5Minutes: number;
  /**
   * ALB 504 (gateway timeout) responses per 5 minutes, i.e. ML predictions timing out, that alarm.
   * @default 10
   */
  readonly mlTimeoutsPer5Minutes: number;
  /** Service CPU utilisation, in percent, that alarms when exceeded for 10 minutes. @default 85 */
  readonly serviceCpuPercent: number;
  /** Service memory utilisation, in percent, that alarms when exceeded for 10 minutes. @default 85 */
  readonly serviceMemoryPercent: number;
  /** Database CPU utilisation, in percent, that alarms when exceeded for 10 minutes. @default 80 */
  readonly databaseCpuPercent: number;
  /**
   * Days of monthly partitions ahead of today (the smallest over the time-series tables) below which
   * the partition-horizon alarm fires (lib/migrations.ts). Daily upkeep keeps about 90–120 days, so
   * 7–84. @default 30
   */
  readonly partitionHorizonDays: number;
  /**
   * Free storage, in GiB, below which the database pages. Below 10 % of `database.allocatedStorageGiB`
   * (where storage autoscaling acts), so normal growth never pages; a separate ticket says when free
   * storage stays under that 10 % longer than autoscaling's 6-hour cooldown (at its maximum). @default 2
   */
  readonly databaseFreeStorageGiB: number;
  /**
   * Database connections, in percent of the instance class's default `max_connections`
   * (LEAST(memory/9531392, 5000)), above which the database alarms. @default 80
   */
  readonly databaseConnectionsPercent: number;
  /** Freeable memory, in percent of the instance class's memory, below which the database alarms. @default 10 */
  readonly databaseFreeableMemoryPercent: number;
  /** Average outstanding I/O requests on the database volume above which it alarms (10 minutes). @default 20 */
  readonly databaseDiskQueueDepth: number;
  /**
   * `MaximumUsedTransactionIDs` above which the database pages: autovacuum is not freezing, and at
   * about 2 billion PostgreSQL refuses writes (wraparound protection). @default 1000000000
   */
  readonly databaseMaxUsedTransactionIds: number;
  /**
   * Requests per minute below which ml-service's p90 latency is not judged (a percentile of a handful
   * of requests is noise). @default 10
   */
  readonly latencyMinRequestsPerMinute: number;
  /** 5xx responses, in percent of requests, at which ml-service and the load balancer page. @default 5 */
  readonly http5xxPercent: number;
  /** Requests per 5 minutes below which 5xx rates are not judged. @default 20 */
  readonly minRequestsPer5Minutes: number;
  /**
   * Minutes after an emergency-stop trigger fires within which the bot must have no running task;
   * later, "emergency-stop-not-in-effect" pages. 2–30. @default 5
   */
  readonly stopEffectMinutes: number;
  /**
   * Age, in seconds, of the newest Betfair market data (`MarketDataAgeSeconds`) above which prices
   * count as stale while trading. @default 120
   */
  readonly marketDataMaxAgeSeconds: number;
  /**
   * UTC hour (0–23) of the daily "trading still halted" ticket, raised each day while trading is
   * halted (live-trading flag off or the bot scaled to zero). @default 9
   */
  readonly haltedReminderHourUtc: number;
  /**
   * Read or write latency, in milliseconds, above which the database alarms (10-minute average).
   * @default 50
   */
  readonly databaseLatencyMs: number;
  /** Minutes the running task count may stay below desired before alarming (1–60). @default 5 */
  readonly tasksBelowDesiredMinutes: number;
  /**
   * Tasks per 5 minutes, per service, that fail by themselves (fail to start, or their essential
   * container exits: a crash, a non-zero exit, an out-of-memory kill) that alarm.
   * @default 1
   */
  readonly failedTasksPer5Minutes: number;
  /** Minutes a load-balancer target may stay unhealthy before alarming (1–60). @default 3 */
  readonly unhealthyTargetMinutes: number;
  /**
   * Consecutive one-minute periods a trading signal must be bad before it counts toward
   * `trading-impaired`: no healthy Betfair session (`BetfairSessionHealthy` 0), the live-trading flag
   * read as off (`LiveTradingEnabled` 0) where live trading is meant to be on, the bot's desired count
   * at 0. 1–30. Production keeps it small enough to page within 5 minutes (docs/runbooks.md
   * "Time to page"). @default 5
   */
  readonly tradingSignalMinutes: number;
  /**
   * Consecutive one-minute periods the market data must be older than `marketDataMaxAgeSeconds`
   * (while markets are eligible) before `market-data-stale` fires. 1–30. @default 5
   */
  readonly marketDataStaleMinutes: number;
  /**
   * Window, in minutes, in which two tasks of the bot that fail by themselves make a crash loop
   * (`bot-crash-loop`, a page): one crash restarts the task, a second within the window is a loop,
   * however long each task lived. 2–60. @default 15
   */
  readonly crashLoopWindowMinutes: number;
  /**
   * Consecutive one-minute periods with no database connection at all (or no connection metric:
   * the instance is stopped or unreachable) before `database-connections-dropped` pages. 1–30.
   * @default 3
   */
  readonly databaseConnectionsDroppedMinutes: number;
}

/** Where the pager integration's HTTPS URL is kept: a secret, so the URL never enters the template. */
export interface PagerSecretConfig {
  /**
   * Name of the Secrets Manager secret holding the integration URL (e.g. an incident-management
   * tool's SNS/CloudWatch integration endpoint). Created by the operator before the first deploy
   * (docs/first-deploy.md); CloudFormation resolves it at deploy time.
   */
  readonly urlSecretName: string;
  /** JSON field of that secret holding the URL. @default 'url' */
  readonly urlSecretField: string;
  /**
   * Version id of the secret value the subscription uses: the reference reads
   * `{{resolve:secretsmanager:<name>:SecretString:<field>::<version-id>}}`. CloudFormation re-reads a
   * dynamic reference only when its text changes, never when the secret alone changes, so a new URL
   * takes effect through a new version id. `npm run ops -- pager set-url` writes the secret and this
   * id together (docs/runbooks.md). @default none: the version current at the stack's create
   */
  readonly urlSecretVersionId?: string;
}

/** Severity routing of the environment's alarms (lib/alerting.ts, lib/monitoring/severity.ts). */
export interface AlertingConfig {
  /**
   * Whether this environment pages anyone. When false (staging), there is no page topic: every alarm,
   * whatever its severity, goes to the ticket topic. When true, `pager` is required. @default false
   */
  readonly pages: boolean;
  /**
   * The pager, subscribed over HTTPS to the page topic and to the topic of OK notifications (so
   * incidents resolve themselves). @default none (only allowed when `pages` is false)
   */
  readonly pager?: PagerSecretConfig;
  /**
   * Web address of this repository, without a trailing slash; runbook links in alarm descriptions
   * are `<repositoryUrl>/blob/<runbookRef>/docs/runbooks.md#<anchor>`, clickable from a notification.
   */
  readonly repositoryUrl: string;
  /** Branch or tag the runbook links point to. @default 'main' */
  readonly runbookRef: string;
  /**
   * The independent route for failed deliveries: an e-mail address (ideally another provider's
   * mailbox, or a phone's e-mail-to-SMS address) subscribed to the fallback topic. A page, ticket or
   * resolved notice SNS could not deliver is reported there, never through the route that failed.
   * Must differ from `alarmEmail`. Required in each environment's own file.
   */
  readonly fallbackEmail: string;
}

/**
 * Who may assume the environment's roles for people (docs/deployment.md "Roles for people"). Each
 * entry is one of:
 * - a role or user **in this environment's `account`**, written without the account:
 *   `role/aws-reserved/sso.amazonaws.com/<region>/AWSReservedSSO_<set>_<id>` (an IAM Identity
 *   Center permission set's role) or `user/<name>`; the account is filled in from `account`, so
 *   changing `account` cannot leave a stale one;
 * - a full role or user ARN (`arn:aws:iam::<account>:role/…`): its account must be `account`, or
 *   be listed in `crossAccountPrincipalAccounts` on purpose;
 * - a 12-digit account id: that account's root, so the account's own IAM policies decide who
 *   (refused in production, and wherever `liveTradingEnabled` is on, unless `acknowledgeAccountRootTrust` or `sandbox`).
 *
 * An empty list means this account's root.
 */
export interface AccessConfig {
  /**
   * Principals that may assume `clever-better-operator`: every `ops` command, emergency stop and
   * `migrate down` included. A principal that is not an IAM Identity Center role must present MFA
   * (`aws:MultiFactorAuthPresent`). @default [] (this account's root)
   */
  readonly operatorPrincipals: readonly string[];
  /** Principals that may assume `clever-better-viewer`: `ops status` (read-only). @default [] (this account's root) */
  readonly viewerPrincipals: readonly string[];
  /**
   * Accounts other than `account` whose principals the lists above may name, on purpose (e.g. the
   * organisation's identity account). Any other account is refused. @default []
   */
  readonly crossAccountPrincipalAccounts?: readonly string[];
  /**
   * Set to `true` to trust a whole account (its root: every principal its IAM lets assume the role)
   * in production or any environment with `liveTradingEnabled` (unless it is a `sandbox`). Without it validation refuses such a principal there: name the people's roles
   * instead. @default false
   */
  readonly acknowledgeAccountRootTrust?: boolean;
}

/**
 * How much an environment is expected to use what AWS bills by use (lib/cost, docs/cost.md). None of
 * these is in a template, so `npm run cost` shows what they cost apart from the fixed costs, labelled
 * as assumptions. Every value is a non-negative number; replace a guess with a measured figure
 * (Cost Explorer, CloudWatch `IncomingBytes`) when one exists.
 */
export interface UsageProfile {
  /** Log data the bot writes to `/ecs/clever-better-bot`, in GB a day. @default 0.5 */
  readonly botLogGbPerDay: number;
  /** Log data ml-service writes to `/ecs/clever-better-ml`, in GB a day. @default 0.5 */
  readonly mlLogGbPerDay: number;
  /**
   * Log data each other log group receives (Lambda functions, RDS log exports, events), in GB a day
   * per log group. @default 0.01
   */
  readonly otherLogGbPerLogGroupPerDay: number;
  /** VPC flow-log records delivered to CloudWatch Logs, in GB a day. @default 0.2 */
  readonly flowLogGbPerDay: number;
  /** Data processed by all NAT gateways together (Betfair, ECR pulls, AWS APIs), in GB a month. @default 100 */
  readonly natProcessedGbPerMonth: number;
  /** Load balancer capacity units the ALB consumes, on average, per hour. @default 1 */
  readonly albLcuPerHour: number;
  /** Invocations of each Lambda function, per function, a month. @default 10000 */
  readonly lambdaInvocationsPerFunctionPerMonth: number;
  /** Average duration of a Lambda invocation, in milliseconds. @default 1000 */
  readonly lambdaAverageDurationMs: number;
  /** Messages published to SNS topics (alarm notifications), all topics together, a month. @default 2000 */
  readonly snsPublishesPerMonth: number;
  /** Secrets Manager API calls (`GetSecretValue` at task start, rotation), a month. @default 50000 */
  readonly secretsApiCallsPerMonth: number;
  /** Image data stored in each ECR repository, in GB. @default 5 */
  readonly ecrStoredGbPerRepository: number;
  /** Data stored in each S3 bucket (ALB access logs), in GB. @default 10 */
  readonly s3StoredGbPerBucket: number;
  /**
   * Custom metrics Container Insights publishes for the cluster (per cluster, service and task
   * dimensions), where the cluster turns it on. @default 30
   */
  readonly containerInsightsMetrics: number;
  /** Performance log events Container Insights ingests, in GB a day, where it is on. @default 0.05 */
  readonly containerInsightsLogGbPerDay: number;
  /** Custom metrics the bot and ml-service publish themselves (docs/metrics.md). @default 20 */
  readonly applicationCustomMetrics: number;
  /** RDS backup storage beyond the free allowance (100 % of provisioned storage), in GB. @default 0 */
  readonly databaseBackupGbBeyondFree: number;
}

/** What `npm run cost` assumes for an environment and when a pull request's cost increase warns. */
export interface CostConfig {
  /**
   * Increase of the environment's monthly estimate, in USD, above which the pull-request comment
   * shows the cost line as a warning instead of information. Cost never blocks a pull request.
   * @default 50
   */
  readonly warnAboveUsdPerMonth: number;
  /** The usage that is billed by use, as assumptions. */
  readonly usage: UsageProfile;
}

/** The whole configuration of one environment. */
export interface EnvironmentConfig {
  /** Environment name; part of the runbook names (`clever-better-<name>`, `clever-better/<name>/…`). */
  readonly name: EnvironmentName;
  /** CloudFormation stack name and CDK construct id, e.g. `StagingStack`. */
  readonly stackName: string;
  /**
   * AWS account id (12 digits). The CDK CLI refuses to deploy with credentials of another account.
   * The committed values are placeholders: set the real ids as README explains.
   */
  readonly account: string;
  /** AWS region; the guide's is `eu-west-1`. */
  readonly region: string;
  /**
   * Protect the stack itself from `cdk destroy` / DeleteStack. Takes effect only once
   * `stackCreated` is true (docs/first-deploy.md "When protection turns on").
   */
  readonly terminationProtection: boolean;
  /**
   * Whether `stackName` exists in its account: its first create succeeded. Until then nothing is
   * created with termination or deletion protection (`terminationProtection`,
   * `database.deletionProtection`, `loadBalancerDeletionProtection` wait for it), so a create that
   * fails rolls back to nothing and can be retried. `npm run ops -- protect` writes `true` after the
   * first create; `ops preflight` fails while this disagrees with the account. @default false
   */
  readonly stackCreated: boolean;
  /**
   * Initial `live_trading_enabled` in `clever-better/<name>/config`. Only the emergency stop and
   * `ops resume` change it afterwards; a deploy that leaves this value alone never rewrites the secret.
   */
  readonly liveTradingEnabled: boolean;
  /**
   * Timeout of Betfair's Heartbeat API, in seconds, given to the bot as
   * `BETFAIR_HEARTBEAT_TIMEOUT_SECONDS`: the bot calls `heartbeat` with it as `preferredTimeoutSeconds`
   * more often than that, and when the calls stop (a crashed task, a lost network, a region outage)
   * Betfair itself cancels the account's unmatched bets. Betfair accepts 10–300. It complements the
   * emergency stop, which needs AWS to work (docs/runtime-contract.md). @default 60
   */
  readonly betfairHeartbeatTimeoutSeconds: number;
  /**
   * Set to `true` beside `liveTradingEnabled: true` in any environment but production, to say on
   * purpose that it trades real money. Without it validation refuses live trading outside
   * production: README, that environment's file and its alarm set all assume trading is off there.
   * @default false
   */
  readonly acknowledgeLiveTradingOutsideProduction?: boolean;
  /** Whether mutable image tags such as `latest` are accepted. Never in production. */
  readonly allowMutableImageTags: boolean;
  /**
   * Whether every image must be pinned by digest (`bot.imageDigest`, `ml.imageDigest`), so the
   * environment runs exactly the bytes another environment tested. @default false
   */
  readonly requireImageDigests: boolean;
  /**
   * Environment whose registry receives this environment's images by ECR cross-account replication
   * (replication rule in this account's registry stack, registry policy in the other's). Staging
   * promotes to production, so production's registry holds the tested images without a push.
   * @default none: no replication
   */
  readonly promoteImagesTo?: EnvironmentName;
  /** Days the ECS, Lambda and other log groups are kept. Must be a CloudWatch Logs retention value. */
  readonly logRetentionDays: number;
  /** Keep log groups and the ALB log bucket when the stack is deleted. */
  readonly retainLogsOnDelete: boolean;
  /**
   * The on-call e-mail address: second subscriber of the page topic (after the pager) and the inbox of
   * the ticket topic. Required in each environment's own file (no shared default), and never on a
   * reserved domain (`*.example`, `*.test`, `*.invalid`, `example.com`) unless `sandbox` is true.
   */
  readonly alarmEmail: string;
  /**
   * A throw-away environment where nobody is on call: placeholder addresses on reserved domains are
   * accepted. @default false
   */
  readonly sandbox: boolean;
  /** Severity routing: page and ticket topics, the pager, runbook links (docs/runbooks.md "Routing"). */
  readonly alerting: AlertingConfig;
  /**
   * Number of images per ECR repository kept besides the released ones (`releaseTagPatterns`):
   * branch builds and other tags; older ones expire.
   */
  readonly ecrImagesToKeep: number;
  /**
   * Tag patterns of released images (ECR lifecycle `tagPatternList` wildcards: `*` any run of
   * characters, at most 4 per pattern). The registry keeps every image with such a tag, so a pin
   * (a tag, or a digest through the tag it was released as) never expires; `npm run ops -- release`
   * accepts only matching tags, and synthesis fails when a pinned tag matches none.
   * @default ['v*']
   */
  readonly releaseTagPatterns: readonly string[];
  /** ALB deletion protection (Security Hub ELB.6); takes effect once `stackCreated` is true. */
  readonly loadBalancerDeletionProtection: boolean;
  /** VPC settings. */
  readonly network: NetworkConfig;
  /** Who may assume the operator and viewer roles. */
  readonly access: AccessConfig;
  /** The trading bot service `bot`. */
  readonly bot: ServiceConfig;
  /** The ML prediction service `ml-service`. */
  readonly ml: MlServiceConfig;
  /** The database. */
  readonly database: DatabaseConfig;
  /** Emergency-stop trigger thresholds. */
  readonly emergencyStop: EmergencyStopConfig;
  /** Rollback settings. */
  readonly rollback: RollbackConfig;
  /** Monitoring thresholds. */
  readonly monitoring: MonitoringConfig;
  /** Cost estimate: usage assumptions and the pull-request warning threshold (docs/cost.md). */
  readonly cost: CostConfig;
}

/** Recursively partial, for per-environment overrides of the base. */
export type DeepPartial<T> = {
  readonly [K in keyof T]?: T[K] extends readonly (infer _U)[]
    ? T[K]
    : T[K] extends object
      ? DeepPartial<T[K]>
      : T[K];
};

/**
 * The `local` environment (environments/local.ts): the same values as a deployed one, acted on by
 * `npm run ops -- … --env local` against the stand-in `npm run local` runs; never deployed.
 */
export interface LocalEnvironmentConfig extends Omit<EnvironmentConfig, 'name'> {
  readonly name: 'local';
}

/** Any environment `ops` can act on. */
export type OperableEnvironmentConfig = EnvironmentConfig | LocalEnvironmentConfig;
