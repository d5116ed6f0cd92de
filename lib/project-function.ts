import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ignoreCfnLint } from './compliance';
import * as path from 'node:path';

/** Root of the Lambda sources; anchored on this file, never on the working directory. */
export const LAMBDA_ROOT = path.join(__dirname, '..', 'lambda');

/** Props of {@link ProjectFunction}. */
export interface ProjectFunctionProps {
  /** Folder under `lambda/` whose `index.ts` exports `handler`. */
  readonly name: string;
  /** What the function does, for the console and the template. */
  readonly description: string;
  /** Maximum run time. Required: the Lambda default of 3 s suits none of these functions. */
  readonly timeout: Duration;
  /** Memory in MiB. @default 256 */
  readonly memorySize?: number;
  /** Environment variables: names and ARNs only, never secret values. @default none */
  readonly environment?: Record<string, string>;
  /** Caps concurrent runs (and guarantees capacity). @default no reservation */
  readonly reservedConcurrentExecutions?: number;
  /** Days the function's log group is kept. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Run inside this VPC (only functions that reach the database need to). @default outside any VPC */
  readonly vpc?: ec2.IVpc;
  /** Subnets when `vpc` is set. @default private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Security groups when `vpc` is set. @default one new group */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** Extra esbuild settings (e.g. command hooks that copy data files). @default none */
  readonly bundling?: nodejs.BundlingOptions;
}

/**
 * A TypeScript Lambda with this project's defaults, each chosen on purpose:
 * - `nodejs24.x` on arm64 (nodejs20.x is deprecated; cdk-nag L1 wants the newest runtime);
 * - code bundled and minified by esbuild, the AWS SDK included so the code runs against the
 *   SDK versions the tests ran against, not whatever the runtime ships;
 * - its own role with write access to its own log group only (no AWS-managed policy), and an
 *   explicit log group with retention.
 */
export class ProjectFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ProjectFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.logGroup.grantWrite(this.role);
    if (props.vpc) {
      this.role.addManagedPolicy(
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'),
      );
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: 'AWS maintains exactly the ENI permissions a VPC function needs; a copy would drift from it',
      });
    }
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(LAMBDA_ROOT, props.name, 'index.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      timeout: props.timeout,
      memorySize: props.memorySize ?? 256,
      environment: props.environment,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      vpc: props.vpc,
      vpcSubnets: props.vpc
        ? (props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS })
        : undefined,
      securityGroups: props.securityGroups,
      projectRoot: path.join(LAMBDA_ROOT, '..'),
      depsLockFilePath: path.join(LAMBDA_ROOT, '..', 'package-lock.json'),
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node24',
        externalModules: [],
        ...props.bundling,
      },
    });
    ignoreCfnLint(
      this.function,
      'W3005',
      'The CDK makes a function with a given role DependsOn that role as well as referencing it with GetAtt: redundant, harmless',
    );
  }
}
