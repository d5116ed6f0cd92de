import { protections } from './deletion-protection';
import { AspectPriority, Aspects, CfnOutput, RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../environments/types';
import { resolvePrincipals } from '../environments/validate-access';
import { Alerting } from './alerting';
import { acceptCdkInternals } from './compliance';
import { Database } from './database';
import { EmergencyStop } from './emergency-stop';
import { DeploymentSafety } from './deployment-safety';
import { Encryption } from './encryption';
import { DatabaseMigrations } from './migrations';
import {
  AlarmRouting,
  alarmName,
  Monitoring,
  monitoringNames,
  OperationalEvents,
  runbookLink,
} from './monitoring';
import { runbookNames } from './names';
import { Network } from './network';
import { OperatorAccess } from './operator-access';
import { Rollback } from './rollback';
import { AppSecrets, SERVICE_DATABASE_ROLES } from './secrets';
import { Services } from './services';

/** Props of {@link CleverBetterStack}. */
export interface CleverBetterStackProps extends Omit<StackProps, 'env' | 'terminationProtection'> {
  /** The environment's typed configuration from `environments/`. */
  readonly config: EnvironmentConfig;
}

/** The database master user; the guide's secret keeps `username` and `password`. */
const DATABASE_USERNAME = 'clever_better_admin';

/**
 * One whole Clever Better environment: network, secrets, database, cluster, load balancer and
 * services. Composes one construct per concern and passes each the values it needs. The images come
 * from the account's registry stack (lib/registry-stack.ts), deployed before this one.
 */
export class CleverBetterStack extends Stack {
  readonly config: EnvironmentConfig;
  readonly encryption: Encryption;
  readonly alerting: Alerting;
  readonly network: Network;
  readonly secrets: AppSecrets;
  readonly database: Database;
  readonly services: Services;
  readonly emergencyStop: EmergencyStop;
  readonly deploymentSafety: DeploymentSafety;
  readonly rollback: Rollback;
  readonly monitoring: Monitoring;
  readonly migrations: DatabaseMigrations;
  readonly operatorAccess: OperatorAccess;
  private readonly configuredAzs: readonly string[];

  constructor(scope: Construct, id: string, props: CleverBetterStackProps) {
    const { config } = props;
    super(scope, id, {
      ...props,
      env: { account: config.account, region: config.region },
      terminationProtection: protections(config).termination,
      description: `Clever Better ${config.name}: Betfair trading bot, ML service, PostgreSQL and their operations`,
    });
    this.config = config;
    this.configuredAzs = config.network.availabilityZones;
    Tags.of(this).add('Project', 'clever-better');
    Tags.of(this).add('Environment', config.name);
    acceptCdkInternals(this);

    const names = runbookNames(config.name);
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    const logRemovalPolicy = config.retainLogsOnDelete
      ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
      : RemovalPolicy.DESTROY;

    this.encryption = new Encryption(this, 'Encryption');
    // Severity routing (lib/monitoring/severity.ts): page and ticket topics, absolute runbook links.
    const alarmPrefix = monitoringNames(config.name).alarmPrefix;
    const { repositoryUrl, runbookRef } = config.alerting;
    const runbookUrl = (anchor: string) => runbookLink(repositoryUrl, runbookRef, anchor);
    this.alerting = new Alerting(this, 'Alerting', {
      email: config.alarmEmail,
      key: this.encryption.key,
      alarmPrefix,
      pages: config.alerting.pages,
      pager: config.alerting.pager,
      fallbackEmail: config.alerting.fallbackEmail,
      runbookUrl,
    });
    Aspects.of(this).add(new AlarmRouting({ alerting: this.alerting, alarmPrefix, runbookUrl }), {
      priority: AspectPriority.MUTATING,
    });

    this.network = new Network(this, 'Network', {
      cidr: config.network.cidr,
      availabilityZones: config.network.availabilityZones,
      natGateways: config.network.natGateways,
      flowLogRetention: config.network.flowLogRetentionDays as logs.RetentionDays,
      logRemovalPolicy,
    });
    const vpc = this.network.vpc;

    // Looked up by name, not referenced across stacks: the registry stack owns them and outlives this one.
    const botRepository = ecr.Repository.fromRepositoryName(this, 'BotRepository', names.botRepository);
    const mlRepository = ecr.Repository.fromRepositoryName(this, 'MlRepository', names.mlRepository);

    this.secrets = new AppSecrets(this, 'Secrets', {
      betfairSecretName: names.betfairSecret,
      databaseSecretName: names.databaseSecret,
      configSecretName: names.configSecret,
      databaseUsername: DATABASE_USERNAME,
      liveTradingEnabled: config.liveTradingEnabled,
      encryptionKey: this.encryption.key,
    });

    this.database = new Database(this, 'Database', {
      vpc,
      credentials: this.secrets.database,
      databaseName: names.databaseName,
      instanceClass: config.database.instanceClass,
      allocatedStorageGiB: config.database.allocatedStorageGiB,
      maxAllocatedStorageGiB: config.database.maxAllocatedStorageGiB,
      multiAz: config.database.multiAz,
      backupRetentionDays: config.database.backupRetentionDays,
      deletionProtection: protections(config).database,
      removalPolicy: config.database.removalPolicy,
      monitoringIntervalSeconds: config.database.monitoringIntervalSeconds,
      instanceIdentifier: `clever-better-${config.name}`,
      logRetention,
      logRemovalPolicy,
    });

    this.services = new Services(this, 'Services', {
      vpc,
      vpcCidr: config.network.cidr,
      clusterName: names.cluster,
      environmentName: config.name,
      bot: {
        serviceName: names.botService,
        family: names.botFamily,
        logGroupName: names.botLogGroup,
        repository: botRepository,
        imageTag: config.bot.imageTag,
        imageDigest: config.bot.imageDigest,
        cpu: config.bot.cpu,
        memoryMiB: config.bot.memoryMiB,
        containerPort: config.bot.containerPort,
        healthCheckGracePeriodSeconds: config.bot.healthCheckGracePeriodSeconds,
      },
      ml: {
        serviceName: names.mlService,
        family: names.mlFamily,
        logGroupName: names.mlLogGroup,
        repository: mlRepository,
        imageTag: config.ml.imageTag,
        imageDigest: config.ml.imageDigest,
        cpu: config.ml.cpu,
        memoryMiB: config.ml.memoryMiB,
        containerPort: config.ml.containerPort,
        healthCheckGracePeriodSeconds: config.ml.healthCheckGracePeriodSeconds,
        minCount: config.ml.desiredCount,
        maxCount: config.ml.maxCount,
        targetCpuUtilizationPercent: config.ml.targetCpuUtilizationPercent,
      },
      betfairSecret: this.secrets.betfair,
      botDatabaseSecret: this.secrets.botDatabase,
      mlDatabaseSecret: this.secrets.mlDatabase,
      configSecret: this.secrets.config,
      configSecretName: names.configSecret,
      betfairHeartbeatTimeoutSeconds: config.betfairHeartbeatTimeoutSeconds,
      databaseHost: this.database.instance.dbInstanceEndpointAddress,
      databasePort: this.database.instance.dbInstanceEndpointPort,
      databaseName: names.databaseName,
      logRetention,
      logRemovalPolicy,
      loadBalancerDeletionProtection: protections(config).loadBalancer,
    });
    this.database.allowFrom(this.services.bot, 'PostgreSQL from the bot');
    this.database.allowFrom(this.services.ml, 'PostgreSQL from ml-service');

    // Every deploy migrates the schema first; new service versions never start on an old schema.
    // One naming scheme for every alarm and the dashboard (lib/monitoring/names.ts).
    const monitoring = monitoringNames(config.name);
    this.migrations = new DatabaseMigrations(this, 'Migrations', {
      vpc,
      database: this.database,
      databaseSecret: this.secrets.database,
      serviceLogins: [
        { role: SERVICE_DATABASE_ROLES.bot, secret: this.secrets.botDatabase },
        { role: SERVICE_DATABASE_ROLES.ml, secret: this.secrets.mlDatabase },
      ],
      databaseName: names.databaseName,
      environmentName: config.name,
      logRetention,
      logRemovalPolicy,
      alarmTopic: this.alerting.topic,
      errorsAlarmName: alarmName(monitoring.alarmPrefix, 'migration-function-errors'),
      needsAttentionAlarmName: alarmName(monitoring.alarmPrefix, 'migration-needs-attention'),
      defaultPartitionRowsAlarmName: alarmName(monitoring.alarmPrefix, 'partition-default-rows'),
      partitionHorizonAlarmName: alarmName(monitoring.alarmPrefix, 'partition-horizon-low'),
      partitionHorizonDays: config.monitoring.partitionHorizonDays,
    });
    // The ECS services themselves (not their security groups, which the database's rules reference).
    for (const service of [this.services.bot, this.services.ml]) {
      service.node.defaultChild!.node.addDependency(this.migrations.resource);
    }

    // Alarms for every runbook symptom, and the dashboard (docs/runbooks.md).
    this.monitoring = new Monitoring(this, 'Monitoring', {
      names: monitoring,
      thresholds: config.monitoring,
      liveTradingEnabled: config.liveTradingEnabled,
      topic: this.alerting.topic,
      cluster: this.services.cluster,
      loadBalancer: this.services.loadBalancer,
      bot: {
        name: names.botService,
        service: this.services.bot,
        targetGroup: this.services.botTargetGroup,
        logGroup: this.services.botLogGroup,
      },
      ml: { name: names.mlService, service: this.services.ml, targetGroup: this.services.mlTargetGroup },
      database: this.database.instance,
      databaseSize: config.database,
      logRetention,
      logRemovalPolicy,
    });

    // Deployments that roll themselves back, and the one-step rollback (docs/operations.md "Rollback").
    const failedTasks = this.monitoring.failedTasks;
    this.deploymentSafety = new DeploymentSafety(this, 'DeploymentSafety', {
      namePrefix: monitoring.alarmPrefix,
      bot: {
        service: this.services.bot,
        serviceName: names.botService,
        targetGroup: this.services.botTargetGroup,
        key: 'bot',
        taskFailures: failedTasks.metricFor(names.botService),
      },
      ml: {
        service: this.services.ml,
        serviceName: names.mlService,
        targetGroup: this.services.mlTargetGroup,
        key: 'ml',
        taskFailures: failedTasks.metricFor(names.mlService),
      },
      target5xxPerMinute: config.rollback.target5xxPerMinute,
      botErrorsPerMinute: config.emergencyStop.errorStormPerMinute,
      evaluationMinutes: config.rollback.deploymentAlarmMinutes,
    });
    this.rollback = new Rollback(this, 'Rollback', {
      environmentName: config.name,
      namePrefix: monitoring.alarmPrefix,
      clusterName: names.cluster,
      services: [
        { serviceName: 'bot', family: names.botFamily, taskDefinition: this.services.botTaskDefinition },
        { serviceName: 'ml-service', family: names.mlFamily, taskDefinition: this.services.mlTaskDefinition },
      ],
      alerting: this.alerting,
      alarmWindowHours: config.rollback.alarmWindowHours,
      waitForStableMinutes: config.rollback.waitForStableMinutes,
      // The bot's error storm after a deploy rolls it back, where the environment allows it.
      triggers: config.rollback.alarmActionEnabled
        ? [{ ...this.deploymentSafety.botErrorAlarm, service: 'bot' }]
        : [],
      logRetention,
      logRemovalPolicy,
    });
    this.monitoring.showAlarms(
      this.migrations.errorsAlarm,
      this.migrations.needsAttentionAlarm,
      this.migrations.defaultPartitionRowsAlarm,
      this.migrations.partitionHorizonAlarm,
    );
    this.monitoring.showInvocations('rollback', this.rollback.function.function);
    this.monitoring.showAlarms(
      ...Object.values(this.deploymentSafety.alarms).flatMap((all) => all.map((a) => a.alarm)),
    );

    // Alarms that halt trading with nobody awake, and `ops emergency-stop` (docs/operations.md "Emergency stop").
    this.emergencyStop = new EmergencyStop(this, 'EmergencyStop', {
      environmentName: config.name,
      namePrefix: monitoring.alarmPrefix,
      cluster: this.services.cluster,
      botService: this.services.bot,
      configSecret: this.secrets.config,
      betfairSecret: this.secrets.betfair,
      alerting: this.alerting,
      thresholds: config.emergencyStop,
      logRetention,
      logRemovalPolicy,
    });
    this.monitoring.showInvocations('emergencyStop', this.emergencyStop.function.function);
    this.monitoring.watchEmergencyStop(() => this.emergencyStop.triggerAlarms);
    // Failed ECS deployments and RDS events, routed like alarms (docs/runbooks.md "Routing").
    new OperationalEvents(this, 'OperationalEvents', {
      alerting: this.alerting,
      services: [this.services.bot, this.services.ml],
      database: this.database.instance,
    });
    this.monitoring.showAlarms(
      ...this.emergencyStop.triggerAlarms,
      this.emergencyStop.failedAlarm,
      this.emergencyStop.undeliveredAlarm,
    );

    // The roles people assume to run `ops` (docs/pipeline.md "Roles for people").
    this.operatorAccess = new OperatorAccess(this, 'OperatorAccess', {
      operatorPrincipals: resolvePrincipals(config, config.access.operatorPrincipals).map((p) => p.arn),
      viewerPrincipals: resolvePrincipals(config, config.access.viewerPrincipals).map((p) => p.arn),
      stackName: config.stackName,
      clusterName: names.cluster,
      botServiceName: names.botService,
      mlServiceName: names.mlService,
      configSecret: this.secrets.config,
      encryptionKey: this.encryption.key,
      alarmTopics: this.alerting.topics,
      resolveTopics: [this.alerting.resolvedTopic, this.alerting.ticketTopic].filter(
        (t): t is NonNullable<typeof t> => !!t,
      ),
      onCallTopic: this.alerting.topic,
      // Every function an ops command invokes: `ops rollback` asks the planner first, then the
      // service's own rollback function (test/least-privilege/ simulates each invocation).
      functions: [
        this.migrations.function.function,
        this.emergencyStop.function.function,
        this.rollback.planner.function,
        ...Object.values(this.rollback.actors).map((a) => a.function),
      ],
    });

    // What `terraform output -json` used to give operators.
    const outputs: Record<string, [string, string]> = {
      ClusterName: [this.services.cluster.clusterName, 'ECS cluster'],
      BotServiceName: [this.services.bot.serviceName, 'ECS service of the trading bot'],
      MlServiceName: [this.services.ml.serviceName, 'ECS service of the ML prediction service'],
      BotConfiguredCount: [String(config.bot.desiredCount), 'Task count `ops resume` restores for the bot'],
      DatabaseEndpoint: [this.database.instance.dbInstanceEndpointAddress, 'PostgreSQL host'],
      DatabasePort: [this.database.instance.dbInstanceEndpointPort, 'PostgreSQL port'],
      BetfairSecretArn: [this.secrets.betfair.secretArn, 'Betfair credentials secret'],
      DatabaseSecretArn: [
        this.secrets.database.secretArn,
        'Database master credentials: the migration function and break-glass use only',
      ],
      BotDatabaseSecretArn: [
        this.secrets.botDatabase.secretArn,
        "The bot's database login (clever_better_bot)",
      ],
      MlDatabaseSecretArn: [
        this.secrets.mlDatabase.secretArn,
        "ml-service's database login (clever_better_ml)",
      ],
      MigrationFunctionName: [
        this.migrations.function.function.functionName,
        'Function `ops migrate` invokes (and the migration custom resource runs)',
      ],
      ConfigSecretArn: [this.secrets.config.secretArn, 'Runtime config secret (live_trading_enabled)'],
      OnCallTopicArn: [
        this.alerting.topic.topicArn,
        'SNS topic of pages (the ticket topic where this environment pages nobody)',
      ],
      TicketTopicArn: [this.alerting.ticketTopic.topicArn, 'SNS topic of tickets'],
      FallbackTopicArn: [
        this.alerting.fallbackTopic.topicArn,
        'SNS topic of failed deliveries of the other topics (alerting.fallbackEmail)',
      ],
      EmergencyStopFunctionName: [
        this.emergencyStop.function.function.functionName,
        'Function `ops emergency-stop` invokes',
      ],
      EmergencyStopTriggerAlarms: [
        this.emergencyStop.triggerAlarmNames,
        'Alarms that stop trading; `ops resume` refuses while one is in ALARM',
      ],
      RollbackPlanFunctionName: [
        this.rollback.planner.function.functionName,
        'Function `ops rollback` asks for a plan',
      ],
      RollbackBotFunctionName: [
        this.rollback.actors.bot.function.functionName,
        'Function `ops rollback --service bot --yes` invokes',
      ],
      RollbackMlServiceFunctionName: [
        this.rollback.actors['ml-service'].function.functionName,
        'Function `ops rollback --service ml-service --yes` invokes',
      ],
      DashboardName: [this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard of this environment'],
      OperatorRoleArn: [
        this.operatorAccess.operatorRole.roleArn,
        'Role for every ops command (docs/pipeline.md "Roles for people")',
      ],
      ViewerRoleArn: [this.operatorAccess.viewerRole.roleArn, 'Role for ops status'],
      AlbDnsName: [this.services.loadBalancer.loadBalancerDnsName, 'Internal ALB DNS name'],
      BotRepositoryUri: [botRepository.repositoryUri, 'ECR repository of the bot image'],
      MlRepositoryUri: [mlRepository.repositoryUri, 'ECR repository of the ML image'],
    };
    if (this.alerting.resolvedTopic) {
      outputs.ResolvedTopicArn = [
        this.alerting.resolvedTopic.topicArn,
        'SNS topic of OK notifications of pages (pager only)',
      ];
    }
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description });
    }
  }

  /** The configured zones: without this override the CDK would look them up in the account. */
  override get availabilityZones(): string[] {
    return [...this.configuredAzs];
  }
}
