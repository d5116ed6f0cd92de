import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { skipCheckov } from './compliance';

/** Docker label that carries the readable tag of an image pinned by digest. */
export const IMAGE_TAG_LABEL = 'org.opencontainers.image.version';

/** Health-check timing shared by both target groups; chosen so a bad task is replaced within 60 s. */
export interface HealthCheckTiming {
  /** Seconds between ALB health checks. @default 5 */
  readonly intervalSeconds: number;
  /** Seconds before a health check counts as failed; below the interval. @default 4 */
  readonly timeoutSeconds: number;
  /** Consecutive successes before a target is healthy. @default 2 */
  readonly healthyThreshold: number;
  /** Consecutive failures before a target is unhealthy. @default 2 */
  readonly unhealthyThreshold: number;
  /** Seconds the ALB drains a deregistering target (the ALB default is 300). @default 10 */
  readonly deregistrationDelaySeconds: number;
}

/** The defaults of {@link HealthCheckTiming}. */
export const DEFAULT_HEALTH_CHECK_TIMING: HealthCheckTiming = {
  intervalSeconds: 5,
  timeoutSeconds: 4,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  deregistrationDelaySeconds: 10,
};

/** Sizing and release values of one service, as in `environments/`. */
export interface ServiceSpec {
  /** ECS service name (`bot` or `ml-service`). */
  readonly serviceName: string;
  /** Task-definition family (`clever-better-bot` or `clever-better-ml`). */
  readonly family: string;
  /** Log group name (`/ecs/clever-better-bot` or `/ecs/clever-better-ml`). */
  readonly logGroupName: string;
  /** Repository the image comes from. */
  readonly repository: ecr.IRepository;
  /** Image tag, pinned in `environments/`; with `imageDigest`, only a readable label. */
  readonly imageTag: string;
  /**
   * Image digest (`sha256:…`); when set the task pulls `repository@digest`.
   * @default none: pulled by `imageTag`
   */
  readonly imageDigest?: string;
  /** Task CPU units. */
  readonly cpu: number;
  /** Task memory, MiB. */
  readonly memoryMiB: number;
  /** Container port (also the health-check port). */
  readonly containerPort: number;
  /** Seconds ECS ignores failing health checks after a task starts. */
  readonly healthCheckGracePeriodSeconds: number;
}

/** Props of {@link Services}. */
export interface ServicesProps {
  readonly vpc: ec2.IVpc;
  /** CIDR of the VPC, a literal so security-group checks can read it; the ALB admits only it. */
  readonly vpcCidr: string;
  /** Cluster name (`clever-better-<env>`). */
  readonly clusterName: string;
  /** The trading bot. Its desired count is never written into the template. */
  readonly bot: ServiceSpec;
  /** The ML service, autoscaled between `minCount` and `maxCount`. */
  readonly ml: ServiceSpec & {
    /** Autoscaling minimum, in tasks (the guide's `ml_count`). */
    readonly minCount: number;
    /** Autoscaling maximum, in tasks. */
    readonly maxCount: number;
    /** CPU percent target tracking keeps. */
    readonly targetCpuUtilizationPercent: number;
  };
  /** Betfair secret; `app_key`, `username`, `password` are injected into the bot. */
  readonly betfairSecret: secretsmanager.ISecret;
  /**
   * The bot's own database login (role `clever_better_bot`): `username`, `password` are injected as
   * `DB_USERNAME`, `DB_PASSWORD`. Never the master secret: that stays with the migration function.
   */
  readonly botDatabaseSecret: secretsmanager.ISecret;
  /** ml-service's own database login (role `clever_better_ml`), injected the same way. */
  readonly mlDatabaseSecret: secretsmanager.ISecret;
  /** Config secret; the bot gets its name and read permission and reads it at run time. */
  readonly configSecret: secretsmanager.ISecret;
  /** Name of the config secret, given to the bot as `CONFIG_SECRET_ID`. */
  readonly configSecretName: string;
  /** Betfair Heartbeat API timeout in seconds, given to the bot as `BETFAIR_HEARTBEAT_TIMEOUT_SECONDS`. */
  readonly betfairHeartbeatTimeoutSeconds: number;
  /** Database endpoint host. */
  readonly databaseHost: string;
  /** Database port. */
  readonly databasePort: string;
  /** Database name. */
  readonly databaseName: string;
  /** Environment name, given to both containers as `CLEVER_BETTER_ENV`. */
  readonly environmentName: string;
  /** Days the service log groups are kept. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to log groups and the ALB log bucket when the stack is deleted. */
  readonly logRemovalPolicy: RemovalPolicy;
  /** ALB deletion protection. */
  readonly loadBalancerDeletionProtection: boolean;
  /** Health-check timing. @default DEFAULT_HEALTH_CHECK_TIMING */
  readonly healthCheck?: HealthCheckTiming;
}

/**
 * Where each image must carry the RDS CA bundle (global-bundle.pem from the RDS trust store):
 * libpq and Go's x509 do not trust the RDS CAs from the system store, and `DB_SSLMODE=verify-full`
 * needs them. Given to the containers as `PGSSLROOTCERT` (libpq reads it) and `DB_SSLROOTCERT`.
 */
export const RDS_CA_BUNDLE_PATH = '/etc/ssl/certs/rds-global-bundle.pem';

/**
 * The writable scratch mount (the root filesystem is read-only). `HOME` and `XDG_CACHE_HOME` point
 * into it, because Python libraries (and Go's os.UserCacheDir) write caches under them at start-up.
 */
export const WRITABLE_PATH = '/tmp';

/** Path prefix under which the internal ALB routes to the bot; everything else goes to `ml-service`. */
export const BOT_PATH_PREFIX = '/bot';

/**
 * The ECS cluster, the internal ALB and the services `bot` and `ml-service`.
 *
 * The bot deploys stop-first (0 % / 100 %) so two bots never trade at once, and its template has no
 * `DesiredCount`, so a deploy never undoes an emergency scale-to-zero. Both services roll back on
 * the deployment circuit breaker.
 */
export class Services extends Construct {
  readonly cluster: ecs.Cluster;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly listener: elbv2.ApplicationListener;
  readonly bot: ecs.FargateService;
  readonly ml: ecs.FargateService;
  readonly botTaskDefinition: ecs.FargateTaskDefinition;
  readonly mlTaskDefinition: ecs.FargateTaskDefinition;
  readonly botTargetGroup: elbv2.ApplicationTargetGroup;
  readonly mlTargetGroup: elbv2.ApplicationTargetGroup;
  readonly botLogGroup: logs.LogGroup;
  readonly mlLogGroup: logs.LogGroup;
  readonly healthCheck: HealthCheckTiming;

  constructor(scope: Construct, id: string, props: ServicesProps) {
    super(scope, id);
    const timing = (this.healthCheck = props.healthCheck ?? DEFAULT_HEALTH_CHECK_TIMING);

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      clusterName: props.clusterName,
      vpc: props.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    const albSecurityGroup = new ec2.SecurityGroup(this, 'AlbSecurityGroup', {
      vpc: props.vpc,
      description: 'Internal ALB: HTTP from inside the VPC only',
      allowAllOutbound: false,
    });
    albSecurityGroup.addIngressRule(
      ec2.Peer.ipv4(props.vpcCidr),
      ec2.Port.tcp(80),
      'HTTP from inside the VPC',
    );

    const accessLogs = new s3.Bucket(this, 'AlbAccessLogs', {
      // ALB access logs support only SSE-S3.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: props.logRemovalPolicy,
    });
    const logBucketReasons: Record<string, string> = {
      'AwsSolutions-S1':
        'This bucket receives the ALB access logs; logging its own access would log the logger',
      'NIST.800.53.R5-S3BucketLoggingEnabled':
        'This bucket receives the ALB access logs; logging its own access would log the logger',
      'NIST.800.53.R5-S3DefaultEncryptionKMS':
        'ALB access logs can only be delivered to buckets encrypted with SSE-S3',
      'NIST.800.53.R5-S3BucketReplicationEnabled':
        'Access logs of an internal ALB are diagnostics, not data to replicate across regions',
    };
    for (const [id, reason] of Object.entries(logBucketReasons)) {
      Validations.of(accessLogs.node.defaultChild!).acknowledge({ id, reason });
    }
    skipCheckov(accessLogs, 'CKV_AWS_18', logBucketReasons['AwsSolutions-S1']);

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc: props.vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: albSecurityGroup,
      dropInvalidHeaderFields: true,
      deletionProtection: props.loadBalancerDeletionProtection,
    });
    this.loadBalancer.logAccessLogs(accessLogs, 'alb');
    Validations.of(this.loadBalancer.node.defaultChild!).acknowledge({
      id: 'NIST.800.53.R5-ALBWAFEnabled',
      reason:
        'Internal load balancer: reachable only from inside the VPC, where nothing serves untrusted web clients',
    });
    if (!props.loadBalancerDeletionProtection) {
      Validations.of(this.loadBalancer.node.defaultChild!).acknowledge({
        id: 'NIST.800.53.R5-ELBDeletionProtectionEnabled',
        reason:
          'Off until the stack exists (stackCreated: a protected resource makes a failed create end in ROLLBACK_FAILED), or by configuration so this environment can be torn down',
      });
    }

    this.botLogGroup = this.logGroup('BotLogs', props.bot.logGroupName, props);
    this.mlLogGroup = this.logGroup('MlLogs', props.ml.logGroupName, props);

    // Each service logs in as its own role, with only the grants it needs (docs/database-users.md).
    const dbSecrets = (secret: secretsmanager.ISecret) => ({
      DB_USERNAME: ecs.Secret.fromSecretsManager(secret, 'username'),
      DB_PASSWORD: ecs.Secret.fromSecretsManager(secret, 'password'),
    });
    const dbEnvironment = {
      CLEVER_BETTER_ENV: props.environmentName,
      DB_HOST: props.databaseHost,
      DB_PORT: props.databasePort,
      DB_NAME: props.databaseName,
      DB_SSLMODE: 'verify-full',
      PGSSLROOTCERT: RDS_CA_BUNDLE_PATH,
      DB_SSLROOTCERT: RDS_CA_BUNDLE_PATH,
      HOME: WRITABLE_PATH,
      XDG_CACHE_HOME: `${WRITABLE_PATH}/.cache`,
    };

    this.botTaskDefinition = this.taskDefinition('BotTask', props.bot, this.botLogGroup, {
      environment: {
        ...dbEnvironment,
        CONFIG_SECRET_ID: props.configSecretName,
        BETFAIR_HEARTBEAT_TIMEOUT_SECONDS: String(props.betfairHeartbeatTimeoutSeconds),
      },
      secrets: {
        ...dbSecrets(props.botDatabaseSecret),
        BETFAIR_APP_KEY: ecs.Secret.fromSecretsManager(props.betfairSecret, 'app_key'),
        BETFAIR_USERNAME: ecs.Secret.fromSecretsManager(props.betfairSecret, 'username'),
        BETFAIR_PASSWORD: ecs.Secret.fromSecretsManager(props.betfairSecret, 'password'),
      },
    });
    // The bot reads live_trading_enabled at run time (ECS would inject it only at start).
    props.configSecret.grantRead(this.botTaskDefinition.taskRole);

    this.mlTaskDefinition = this.taskDefinition('MlTask', props.ml, this.mlLogGroup, {
      environment: dbEnvironment,
      secrets: dbSecrets(props.mlDatabaseSecret),
    });

    this.bot = new ecs.FargateService(this, 'Bot', {
      cluster: this.cluster,
      serviceName: props.bot.serviceName,
      taskDefinition: this.botTaskDefinition,
      securityGroups: [
        this.httpsOnlySecurityGroup('BotSecurityGroup', props.vpc, 'bot', 'Betfair and AWS APIs'),
      ],
      // No desiredCount: CloudFormation then keeps the running count on update, so an emergency
      // scale-to-zero survives every deploy. On creation ECS starts one task.
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      // Stop first, then start: two bots must never trade at once.
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: Duration.seconds(props.bot.healthCheckGracePeriodSeconds),
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    this.ml = new ecs.FargateService(this, 'Ml', {
      cluster: this.cluster,
      serviceName: props.ml.serviceName,
      taskDefinition: this.mlTaskDefinition,
      securityGroups: [this.httpsOnlySecurityGroup('MlSecurityGroup', props.vpc, 'ml-service', 'AWS APIs')],
      // No desiredCount: autoscaling owns it (minimum = the guide's ml_count), so a deploy
      // never scales a loaded service back in.
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: Duration.seconds(props.ml.healthCheckGracePeriodSeconds),
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });
    this.ml
      .autoScaleTaskCount({ minCapacity: props.ml.minCount, maxCapacity: props.ml.maxCount })
      .scaleOnCpuUtilization('CpuScaling', {
        targetUtilizationPercent: props.ml.targetCpuUtilizationPercent,
      });

    this.listener = this.loadBalancer.addListener('Http', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: elbv2.ListenerAction.fixedResponse(404, {
        contentType: 'application/json',
        messageBody: '{"error":"not found"}',
      }),
    });
    const plainHttp =
      'Internal ALB inside the VPC with no public DNS name: an ACM certificate cannot be issued for it without a ' +
      'private CA, and its traffic never leaves the VPC';
    for (const id of [
      'NIST.800.53.R5-ELBv2ACMCertificateRequired',
      'NIST.800.53.R5-ALBHttpToHttpsRedirection',
    ]) {
      Validations.of(this.listener.node.defaultChild!).acknowledge({ id, reason: plainHttp });
    }
    skipCheckov(this.listener, 'CKV_AWS_2', plainHttp);
    skipCheckov(this.listener, 'CKV_AWS_103', plainHttp);
    // The guide's "ALB /health → 200 OK", answered by the load balancer itself.
    this.listener.addAction('AlbHealth', {
      priority: 1,
      conditions: [elbv2.ListenerCondition.pathPatterns(['/health'])],
      action: elbv2.ListenerAction.fixedResponse(200, {
        contentType: 'application/json',
        messageBody: '{"status":"healthy"}',
      }),
    });
    this.botTargetGroup = this.targetGroup('BotTargets', props.bot, props.vpc, timing);
    this.mlTargetGroup = this.targetGroup('MlTargets', props.ml, props.vpc, timing);
    this.listener.addTargetGroups('BotRoute', {
      priority: 10,
      conditions: [elbv2.ListenerCondition.pathPatterns([BOT_PATH_PREFIX, `${BOT_PATH_PREFIX}/*`])],
      targetGroups: [this.botTargetGroup],
    });
    this.listener.addTargetGroups('MlRoute', {
      priority: 20,
      conditions: [elbv2.ListenerCondition.pathPatterns(['/*'])],
      targetGroups: [this.mlTargetGroup],
    });
    this.bot.attachToApplicationTargetGroup(this.botTargetGroup);
    this.ml.attachToApplicationTargetGroup(this.mlTargetGroup);
  }

  /**
   * A service's security group: out only HTTPS (Fargate pulls the image and the secrets through the
   * task's own network interface, and the bot calls Betfair) plus what `Database.allowFrom` adds (the
   * PostgreSQL port to the database's group). DNS and the time service are link-local and not filtered.
   */
  private httpsOnlySecurityGroup(
    id: string,
    vpc: ec2.IVpc,
    service: string,
    what: string,
  ): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, id, {
      vpc,
      description: `${service}: HTTPS out (${what}), PostgreSQL to the database; in only from the ALB`,
      allowAllOutbound: false,
    });
    group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), `HTTPS to ${what} through the NAT gateway`);
    return group;
  }

  private logGroup(id: string, logGroupName: string, props: ServicesProps): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      logGroupName,
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
  }

  private taskDefinition(
    id: string,
    spec: ServiceSpec,
    logGroup: logs.ILogGroup,
    container: { environment: Record<string, string>; secrets: Record<string, ecs.Secret> },
  ): ecs.FargateTaskDefinition {
    const taskDefinition = new ecs.FargateTaskDefinition(this, id, {
      family: spec.family,
      cpu: spec.cpu,
      memoryLimitMiB: spec.memoryMiB,
      runtimePlatform: {
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
      },
      // Writable scratch space; the root filesystem is read-only (Security Hub ECS.5).
      volumes: [{ name: 'tmp' }],
    });
    const app = taskDefinition.addContainer('app', {
      // A digest pins the bytes; the tag then rides along as a label, so people still read a version.
      image: ecs.ContainerImage.fromEcrRepository(spec.repository, spec.imageDigest ?? spec.imageTag),
      dockerLabels: spec.imageDigest ? { [IMAGE_TAG_LABEL]: spec.imageTag } : undefined,
      essential: true,
      readonlyRootFilesystem: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: spec.serviceName }),
      portMappings: [{ containerPort: spec.containerPort, protocol: ecs.Protocol.TCP }],
      environment: container.environment,
      secrets: container.secrets,
    });
    Validations.of(taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken has no resource-level permissions; image pulls are scoped to the repository',
    });
    app.addMountPoints({ containerPath: WRITABLE_PATH, sourceVolume: 'tmp', readOnly: false });
    Validations.of(taskDefinition.node.defaultChild!).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds only names and endpoints (environment, DB host/port/name, config secret name); ' +
        'every credential is injected from Secrets Manager',
    });
    return taskDefinition;
  }

  private targetGroup(
    id: string,
    spec: ServiceSpec,
    vpc: ec2.IVpc,
    timing: HealthCheckTiming,
  ): elbv2.ApplicationTargetGroup {
    return new elbv2.ApplicationTargetGroup(this, id, {
      vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: spec.containerPort,
      deregistrationDelay: Duration.seconds(timing.deregistrationDelaySeconds),
      healthCheck: {
        path: '/health',
        healthyHttpCodes: '200',
        interval: Duration.seconds(timing.intervalSeconds),
        timeout: Duration.seconds(timing.timeoutSeconds),
        healthyThresholdCount: timing.healthyThreshold,
        unhealthyThresholdCount: timing.unhealthyThreshold,
      },
    });
  }
}
