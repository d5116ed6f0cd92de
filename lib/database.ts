import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ignoreCfnLint, skipCheckov } from './compliance';

/**
 * PostgreSQL major the stack runs; the tests' embedded PostgreSQL uses the same major.
 *
 * Engine-version policy: the template pins the major only and RDS applies minor versions itself
 * (`AutoMinorVersionUpgrade`). A pinned minor would go stale the first time RDS upgrades the instance,
 * and the next deploy that sends the older `EngineVersion` fails (aws/aws-cdk#15475). A major upgrade
 * is a deliberate change of this constant (with `allowMajorVersionUpgrade`), reviewed in `cdk diff`.
 */
export const POSTGRES_MAJOR = '17';

/** The PostgreSQL log types exported to CloudWatch Logs; their log groups are created by the stack. */
export const EXPORTED_LOG_TYPES = ['postgresql', 'upgrade'] as const;
/** The port of the guide's `migrate -database postgresql://…:5432/…` URLs. */
export const DATABASE_PORT = 5432;

/** Props of {@link Database}. */
export interface DatabaseProps {
  /** The VPC; the instance sits in its isolated subnets. */
  readonly vpc: ec2.IVpc;
  /** Secret holding `username` and `password`; RDS adds `host`, `port`, `dbname`, `engine` on attach. */
  readonly credentials: secretsmanager.ISecret;
  /** Name of the application database (`clever_better`). */
  readonly databaseName: string;
  /** RDS instance class including `db.`, e.g. `db.r6g.large`. */
  readonly instanceClass: string;
  /** Allocated storage, GiB. */
  readonly allocatedStorageGiB: number;
  /** Storage autoscaling ceiling, GiB. */
  readonly maxAllocatedStorageGiB: number;
  /** Standby in another AZ. */
  readonly multiAz: boolean;
  /** Automated backup retention, days (at least 7). */
  readonly backupRetentionDays: number;
  /** Refuse deletion until switched off. */
  readonly deletionProtection: boolean;
  /** `snapshot` or `retain` when the instance leaves the stack; never destroy. */
  readonly removalPolicy: 'snapshot' | 'retain';
  /** Enhanced monitoring interval, seconds; 0 turns it off. */
  readonly monitoringIntervalSeconds: number;
  /**
   * DB instance identifier. Fixed, so the log groups RDS exports to (`/aws/rds/instance/<id>/<type>`)
   * can be created by the stack beforehand, encrypted with the stack key and with `logRetention`.
   */
  readonly instanceIdentifier: string;
  /** Days the exported PostgreSQL logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the exported-log groups when the stack is deleted. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * RDS for PostgreSQL: encrypted, TLS forced through its parameter group, not public, in isolated
 * subnets, reachable only from what `allowFrom` admits. RDS cannot run TimescaleDB; see README.
 */
export class Database extends Construct {
  readonly instance: rds.DatabaseInstance;
  readonly securityGroup: ec2.SecurityGroup;
  /** The log groups RDS exports PostgreSQL logs to, by log type. */
  readonly logGroups: Readonly<Record<(typeof EXPORTED_LOG_TYPES)[number], logs.LogGroup>>;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const engine = rds.DatabaseInstanceEngine.postgres({
      version: rds.PostgresEngineVersion.of(POSTGRES_MAJOR, POSTGRES_MAJOR),
    });
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'PostgreSQL: admits only the services and the migration function',
      allowAllOutbound: false,
    });
    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: 'Clever Better PostgreSQL parameters: TLS required',
      parameters: { 'rds.force_ssl': '1', log_min_duration_statement: '1000' },
    });
    // Created before the instance: RDS would otherwise create them unencrypted with no retention.
    const logGroup = (type: (typeof EXPORTED_LOG_TYPES)[number]) =>
      new logs.LogGroup(this, `${type[0].toUpperCase()}${type.slice(1)}Logs`, {
        logGroupName: `/aws/rds/instance/${props.instanceIdentifier}/${type}`,
        retention: props.logRetention,
        removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      });
    this.logGroups = { postgresql: logGroup('postgresql'), upgrade: logGroup('upgrade') };
    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      engine,
      instanceIdentifier: props.instanceIdentifier,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.securityGroup],
      port: DATABASE_PORT,
      credentials: rds.Credentials.fromSecret(props.credentials),
      databaseName: props.databaseName,
      instanceType: new ec2.InstanceType(props.instanceClass.replace(/^db\./, '')),
      allocatedStorage: props.allocatedStorageGiB,
      maxAllocatedStorage: props.maxAllocatedStorageGiB,
      storageType: rds.StorageType.GP3,
      storageEncrypted: true,
      multiAz: props.multiAz,
      publiclyAccessible: false,
      parameterGroup,
      backupRetention: Duration.days(props.backupRetentionDays),
      deleteAutomatedBackups: false,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      deletionProtection: props.deletionProtection,
      removalPolicy:
        props.removalPolicy === 'retain' ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.SNAPSHOT,
      cloudwatchLogsExports: [...EXPORTED_LOG_TYPES],
      monitoringInterval:
        props.monitoringIntervalSeconds > 0 ? Duration.seconds(props.monitoringIntervalSeconds) : undefined,
    });
    for (const group of Object.values(this.logGroups)) this.instance.node.addDependency(group);
    // Acknowledge on the DB instance resource itself, not on its children (subnet group, roles).
    const cfnInstance = this.instance.node.defaultChild as rds.CfnDBInstance;
    Validations.of(cfnInstance).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason:
        "Port 5432 is kept because the runbooks' golang-migrate URLs use it; the instance is in isolated subnets " +
        'and its security group admits only the services and the migration function',
    });
    if (!props.deletionProtection) {
      Validations.of(cfnInstance).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason:
          'Off until the stack exists (stackCreated: a protected resource makes a failed create end in ROLLBACK_FAILED), or by configuration so this environment can be torn down',
      });
    }
    const monitoringRole = this.instance.node.tryFindChild('MonitoringRole');
    if (monitoringRole) {
      Validations.of(monitoringRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
        reason:
          'AWS publishes this policy for exactly this role: RDS enhanced monitoring writing to CloudWatch Logs',
      });
    }
    Validations.of(cfnInstance).acknowledge({
      id: 'NIST.800.53.R5-RDSInBackupPlan',
      reason:
        'RDS automated backups (7+ days, point-in-time restore) and a final snapshot or retention on delete ' +
        'cover recovery; an AWS Backup plan would duplicate them',
    });
    ignoreCfnLint(
      this.instance,
      'W3691',
      'EngineVersion "17" is the major on purpose (POSTGRES_MAJOR): RDS picks the minor and upgrades it; ' +
        "cfn-lint's version list holds full minors only, and a pinned minor fails the next deploy after an " +
        'automatic upgrade (aws/aws-cdk#15475)',
    );
    skipCheckov(
      this.instance,
      'CKV_AWS_161',
      'Password authentication from Secrets Manager: the Terraform-era golang-migrate URLs and the services use it; ' +
        'IAM tokens expire every 15 minutes and would need code in both services',
    );
    if (!props.deletionProtection) {
      Validations.of(cfnInstance).acknowledge({
        id: 'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled',
        reason:
          'Off until the stack exists (stackCreated: a protected resource makes a failed create end in ROLLBACK_FAILED), or by configuration so this environment can be torn down',
      });
    }
    if (!props.multiAz) {
      Validations.of(cfnInstance).acknowledge({
        id: 'NIST.800.53.R5-RDSMultiAZSupport',
        reason:
          'Single-AZ by configuration (the Terraform-era staging tfvars: db_multi_az = false); production is Multi-AZ',
      });
      skipCheckov(
        this.instance,
        'CKV_AWS_157',
        'Single-AZ by configuration (the Terraform-era staging tfvars: db_multi_az = false); production is Multi-AZ',
      );
      Validations.of(cfnInstance).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason:
          'Single-AZ by configuration (the Terraform-era staging tfvars: db_multi_az = false); production is Multi-AZ',
      });
    }
  }

  /** Admits `peer` to the database port. */
  allowFrom(peer: ec2.IConnectable, description: string): void {
    this.instance.connections.allowFrom(peer, ec2.Port.tcp(DATABASE_PORT), description);
  }
}
