import {
  Arn,
  AssetHashType,
  Duration,
  ILocalBundling,
  RemovalPolicy,
  Stack,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ignoreCfnLint } from './compliance';
import { buildSync } from 'esbuild';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
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
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Run inside this VPC (only functions that reach the database need to). @default outside any VPC */
  readonly vpc?: ec2.IVpc;
  /** Subnets when `vpc` is set. @default private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Security groups when `vpc` is set. @default one new group */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Directories copied into the bundle, each to `to` beside `index.js` (e.g. the migration files the
   * runner reads). Part of the asset hash, so a changed file is never served from a stale bundle.
   * @default none
   */
  readonly copyIntoBundle?: readonly { readonly from: string; readonly to: string }[];
}

/** Every regular file under `entry` (a file or directory), sorted, skipping nothing. */
function filesUnder(entry: string): string[] {
  if (!fs.statSync(entry).isDirectory()) return [entry];
  return fs
    .readdirSync(entry, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => filesUnder(path.join(entry, e.name)));
}

/**
 * Hash of everything a bundle is made from: its entry, the Lambda sources (all of `lambda/`, since functions
 * share modules), the locked dependency versions and `extra`. Known before bundling, so a synth into a
 * cdk.out that already holds this bundle skips esbuild; any change to an input changes the hash.
 */
export function bundleInputsHash(entry: string, extra: readonly string[] = []): string {
  const root = path.join(LAMBDA_ROOT, '..');
  const hash = createHash('sha256').update(`entry ${path.relative(root, entry)}\0`);
  for (const file of [LAMBDA_ROOT, path.join(root, 'package-lock.json'), ...extra].flatMap(filesUnder)) {
    const content = fs.readFileSync(file);
    hash.update(`${path.relative(root, file)}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

/**
 * The bundle NodejsFunction would make (esbuild: bundled, minified, source map, `node24`, CommonJS,
 * the AWS SDK included), built in-process through esbuild's API. NodejsFunction runs the esbuild
 * binary through `npx --no-install` for every function, and npx alone takes about 0.4 s to start:
 * most of a cold synth's bundling time (`npm run bench:synth`).
 */
export function esbuildLocally(
  entry: string,
  copies: readonly { readonly from: string; readonly to: string }[] = [],
): ILocalBundling {
  return {
    tryBundle(outputDir: string): boolean {
      buildSync({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        target: 'node24',
        format: 'cjs',
        minify: true,
        sourcemap: true,
        outfile: path.join(outputDir, 'index.js'),
        logLevel: 'warning',
      });
      for (const { from, to } of copies) fs.cpSync(from, path.join(outputDir, to), { recursive: true });
      return true;
    },
  };
}

/**
 * A TypeScript Lambda with this project's defaults, each chosen on purpose:
 * - `nodejs24.x` on arm64 (nodejs20.x is deprecated; cdk-nag L1 wants the newest runtime);
 * - code bundled and minified by esbuild ({@link esbuildLocally}), the AWS SDK included so the code
 *   runs against the SDK versions the tests ran against, not whatever the runtime ships;
 * - its own role with write access to its own log group only (no AWS-managed policy), and an
 *   explicit log group with retention.
 */
export class ProjectFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** The folder under `lambda/` the code comes from: the rights simulation reads its SDK calls there. */
  readonly sourceFolder: string;

  constructor(scope: Construct, id: string, props: ProjectFunctionProps) {
    super(scope, id);
    this.sourceFolder = props.name;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
      // Inline in the role itself, not a separate policy resource: Lambda checks these rights when the
      // function is created, so they must exist before it (a later policy attachment races the create).
      inlinePolicies: props.vpc ? { VpcNetworkInterfaces: vpcNetworkInterfacePolicy(this) } : undefined,
    });
    this.logGroup.grantWrite(this.role);
    if (props.vpc) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets have no resource-level permissions (Lambda developer guide, "Giving Lambda functions access to resources in an Amazon VPC")',
      });
      Validations.of(this.role).acknowledge({
        id: 'Serverless-LambdaStarPermissions',
        reason:
          'Only the ENI rights of a VPC function carry wildcards: Describe calls have no resource-level ' +
          "permissions and the ENIs Lambda creates have generated ids (Lambda developer guide's own policy form)",
      });
      const { region, account, partition } = Stack.of(this);
      const renderedPartition = Token.isUnresolved(partition) ? '<AWS::Partition>' : partition;
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${renderedPartition}:ec2:${region}:${account}:*/*]`,
        reason:
          "Lambda creates and deletes the function's ENIs with generated ids; the Lambda developer guide names " +
          'all resources of the account and region as the form that keeps VPC access working',
      });
    }
    const entry = path.join(LAMBDA_ROOT, props.name, 'index.ts');
    const copies = props.copyIntoBundle ?? [];
    this.function = new lambda.Function(this, 'Function', {
      code: lambda.Code.fromAsset(LAMBDA_ROOT, {
        // Known before bundling, so a synth into a cdk.out that already holds the bundle skips it.
        assetHash: bundleInputsHash(
          entry,
          copies.map((c) => c.from),
        ),
        assetHashType: AssetHashType.CUSTOM,
        bundling: {
          // Only if local bundling were impossible; esbuild is a dev dependency, so it never is.
          image: lambda.Runtime.NODEJS_24_X.bundlingImage,
          local: esbuildLocally(entry, copies),
        },
      }),
      handler: 'index.handler',
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
    });
    ignoreCfnLint(
      this.function,
      'W3005',
      'The CDK makes a function with a given role DependsOn that role as well as referencing it with GetAtt: redundant, harmless',
    );
  }
}

/**
 * Exactly the network-interface rights a function in a VPC needs (what the AWS-managed
 * `AWSLambdaVPCAccessExecutionRole` grants minus its `logs:*` on every log group): Lambda developer
 * guide, "Giving Lambda functions access to resources in an Amazon VPC", execution-role permissions.
 */
export function vpcNetworkInterfacePolicy(scope: Construct): iam.PolicyDocument {
  const { region, account } = Stack.of(scope);
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'DescribeForNetworkInterfaces',
        actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'ManageFunctionNetworkInterfaces',
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        // The guide's own form: all resources of this account and region (ENI ids are generated).
        resources: [
          Arn.format({ service: 'ec2', region, account, resource: '*', resourceName: '*' }, Stack.of(scope)),
        ],
      }),
    ],
  });
}
