import { Arn, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import { STOP_MARKER } from './metrics';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Fixed role names: people put them in their AWS CLI profiles (`role_arn`). One account per environment. */
export const OPERATOR_ROLE_NAME = 'clever-better-operator';
export const VIEWER_ROLE_NAME = 'clever-better-viewer';

/**
 * Which role each `ops` command needs (docs/pipeline.md "Roles for people"). Every registered command must be
 * here: test/least-privilege/ops-rights.test.ts fails on one that is not, and on a call a command
 * makes that its role does not allow.
 */
export const OPS_COMMAND_ROLES: Readonly<Record<string, 'viewer' | 'operator' | 'administrator'>> = {
  status: 'viewer',
  // Runs before the first deploy of the stack, so before these roles exist, and reads the account's
  // quotas, service-linked roles and every secret: the account administrator's command.
  preflight: 'administrator',
  // Reads staging's and production's registries (two accounts) and writes environments/: a release
  // engineer's command with ECR read rights in both accounts, not one environment's role.
  release: 'administrator',
  // Creates the pager secret before the first deploy (no operator role yet) and writes environments/.
  pager: 'administrator',
  // Reads the stack's state and writes environments/ (stackCreated): a change that goes through review.
  protect: 'administrator',
  'emergency-stop': 'operator',
  resume: 'operator',
  rollback: 'operator',
  migrate: 'operator',
};

/**
 * Calls a viewer's command makes that the viewer role deliberately lacks, with the reason. `ops status`
 * then reports that section as unreadable and exits 1; everything else it shows.
 */
export const VIEWER_OMISSIONS: Readonly<Record<string, string>> = {
  'lambda:InvokeFunction':
    "`ops status` reads the schema version by invoking the migration function, and IAM cannot limit an invocation's " +
    'payload: the same right would run `migrate up`, `down` or `force`. The viewer sees the migration line as unreadable.',
};

/** Props of {@link OperatorAccess}. */
export interface OperatorAccessProps {
  /**
   * ARNs of the principals that may assume the operator role: IAM roles, users, or an account root
   * (`arn:aws:iam::<account>:root`), from environments/ `access` (resolvePrincipals). Each must
   * present MFA (`aws:MultiFactorAuthPresent`) unless it is an IAM Identity Center role, whose
   * sign-in enforces it.
   */
  readonly operatorPrincipals: readonly string[];
  /** ARNs of the principals that may assume the viewer role (read-only: no MFA condition). */
  readonly viewerPrincipals: readonly string[];
  /** This environment's stack name; `ops` reads its outputs (DescribeStacks). */
  readonly stackName: string;
  /** ECS cluster name (`clever-better-<env>`). */
  readonly clusterName: string;
  /** Service names `ops status` describes; the first is the bot, which `ops resume` scales. */
  readonly botServiceName: string;
  /** The ML service's name. */
  readonly mlServiceName: string;
  /** `clever-better/<env>/config`: read by `status`, read and written by `resume`. */
  readonly configSecret: secretsmanager.ISecret;
  /** The key the config secret is encrypted with. */
  readonly encryptionKey: kms.IKey;
  /**
   * The functions the operator invokes: migration (`migrate`), emergency stop, the rollback planner
   * and each service's rollback function (`rollback`).
   */
  readonly functions: readonly lambda.IFunction[];
  /** The alarm topics, whose subscriptions `ops status` checks (`sns:ListSubscriptionsByTopic`). */
  readonly alarmTopics: readonly sns.ITopic[];
  /**
   * Where `ops resume` reports the emergency stop's pages resolved (they have no OK action of their
   * own): the pager's topic of OK notifications where there is one, and the ticket topic. Encrypted
   * with `encryptionKey`.
   */
  readonly resolveTopics: readonly sns.ITopic[];
  /**
   * The on-call topic (`OnCallTopicArn`): the operator publishes to it in the runbook's by-hand
   * emergency stop (docs/runbooks.md "Emergency stop", step 4). Encrypted with `encryptionKey`.
   */
  readonly onCallTopic: sns.ITopic;
  /**
   * Longest operator session, in hours: the operator can turn live trading on and run `migrate
   * down`, so a session expires soon and the next assumption asks for MFA again. @default 1
   */
  readonly operatorSessionHours?: number;
}

/**
 * The environment's roles for people: `clever-better-viewer` (`ops status`) and
 * `clever-better-operator` (every `ops` command and the runbook's by-hand emergency stop), each with
 * exactly the calls those make, scoped to this environment's resources, and assumable only by the
 * principals configured in `environments/` (the operator with MFA or an IAM Identity Center session).
 * test/least-privilege/ simulates every request of both (docs/least-privilege.md).
 */
export class OperatorAccess extends Construct {
  readonly operatorRole: iam.Role;
  readonly viewerRole: iam.Role;

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stackArn = Arn.format(
      { service: 'cloudformation', resource: 'stack', resourceName: `${props.stackName}/*` },
      stack,
    );
    const serviceArn = (name: string) =>
      Arn.format(
        { service: 'ecs', resource: 'service', resourceName: `${props.clusterName}/${name}` },
        stack,
      );
    const viaSecretsManager = {
      StringEquals: {
        'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com`,
        'kms:EncryptionContext:SecretARN': props.configSecret.secretArn,
      },
    };

    const read = [
      new iam.PolicyStatement({
        sid: 'ReadStackOutputs',
        actions: ['cloudformation:DescribeStacks'],
        resources: [stackArn],
      }),
      new iam.PolicyStatement({
        sid: 'DescribeServices',
        actions: ['ecs:DescribeServices'],
        resources: [props.botServiceName, props.mlServiceName].map(serviceArn),
      }),
      new iam.PolicyStatement({
        // No resource-level permissions for these (IAM service authorization reference).
        sid: 'DescribeTaskDefinitionsAndAlarms',
        actions: ['ecs:DescribeTaskDefinition', 'cloudwatch:DescribeAlarms'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'ListAlarmTopicSubscriptions',
        actions: ['sns:ListSubscriptionsByTopic'],
        resources: props.alarmTopics.map((t) => t.topicArn),
      }),
      new iam.PolicyStatement({
        sid: 'ReadLiveTradingFlag',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.configSecret.secretArn],
      }),
      new iam.PolicyStatement({
        sid: 'DecryptLiveTradingFlag',
        actions: ['kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        conditions: viaSecretsManager,
      }),
    ];
    const operate = [
      new iam.PolicyStatement({
        sid: 'InvokeOperationsFunctions',
        actions: ['lambda:InvokeFunction'],
        resources: props.functions.map((f) => f.functionArn),
      }),
      new iam.PolicyStatement({
        sid: 'WriteLiveTradingFlag',
        actions: ['secretsmanager:PutSecretValue'],
        resources: [props.configSecret.secretArn],
      }),
      new iam.PolicyStatement({
        sid: 'EncryptLiveTradingFlag',
        actions: ['kms:GenerateDataKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: viaSecretsManager,
      }),
      new iam.PolicyStatement({
        sid: 'NotifyOnCall',
        actions: ['sns:Publish'],
        resources: [props.onCallTopic.topicArn],
      }),
      new iam.PolicyStatement({
        // SNS encrypts the message with the topic's key on the publisher's behalf (SNS developer
        // guide, "Encryption at rest": publishers need kms:GenerateDataKey and kms:Decrypt); only through SNS.
        sid: 'EncryptForOnCallTopic',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${stack.region}.amazonaws.com` } },
      }),
      new iam.PolicyStatement({
        sid: 'ScaleTheBot',
        actions: ['ecs:UpdateService'],
        resources: [serviceArn(props.botServiceName)],
      }),
      // The key for it through SNS only: EncryptForOnCallTopic (one key for every topic).
      new iam.PolicyStatement({
        sid: 'ResolveTheStopPages',
        actions: ['sns:Publish'],
        resources: props.resolveTopics.map((t) => t.topicArn),
      }),
      // `ops resume` clears the stop's "halted" marker (lib/metrics.ts STOP_MARKER). PutMetricData has
      // no resource-level permissions; the namespace condition is its scope.
      new iam.PolicyStatement({
        sid: 'ClearTheHaltedMarker',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': STOP_MARKER.namespace } },
      }),
    ];

    this.viewerRole = new iam.Role(this, 'Viewer', {
      roleName: VIEWER_ROLE_NAME,
      description: 'People: ops status (read-only)',
      assumedBy: trust(props.viewerPrincipals, false),
      maxSessionDuration: Duration.hours(1),
      inlinePolicies: { Ops: new iam.PolicyDocument({ statements: read }) },
    });
    this.operatorRole = new iam.Role(this, 'Operator', {
      roleName: OPERATOR_ROLE_NAME,
      description: 'People: every ops command (status, emergency-stop, resume, rollback, migrate)',
      assumedBy: trust(props.operatorPrincipals, true),
      maxSessionDuration: Duration.hours(props.operatorSessionHours ?? 1),
      inlinePolicies: { Ops: new iam.PolicyDocument({ statements: [...read, ...operate] }) },
    });

    const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
    for (const role of [this.viewerRole, this.operatorRole]) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecs:DescribeTaskDefinition, cloudwatch:DescribeAlarms (what ops status reads) and cloudwatch:PutMetricData ' +
          '(ops resume, limited to the stop marker namespace) have no resource-level permissions',
      });
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${partition}:cloudformation:${stack.region}:${stack.account}:stack/${props.stackName}/*]`,
        reason:
          'A stack ARN ends in a generated id that changes when the stack is re-created; the name part is exact',
      });
      Validations.of(role).acknowledge({
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason:
          "The role's whole right set, inline on purpose: a managed policy could be attached to other principals",
      });
    }
  }
}

/** The path IAM Identity Center gives its permission sets' roles. */
const SSO_ROLE = /:role\/aws-reserved\/sso\.amazonaws\.com\//;

/**
 * The trust of a role for people: each principal ARN as itself (an account root as that account),
 * and, where `secondFactor`, a condition `aws:MultiFactorAuthPresent` on every principal but an IAM
 * Identity Center role: a role session carries that key only when its user signed in with MFA (IAM
 * user guide, "Configuring MFA-protected API access"); Identity Center enforces MFA at its sign-in.
 */
function trust(arns: readonly string[], secondFactor: boolean): iam.IPrincipal {
  const all = arns.map((arn) => {
    const account = /^arn:aws[\w-]*:iam::(\d{12}):root$/.exec(arn)?.[1];
    const principal = account ? new iam.AccountPrincipal(account) : new iam.ArnPrincipal(arn);
    return secondFactor && !SSO_ROLE.test(arn)
      ? principal.withConditions({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } })
      : principal;
  });
  if (all.length === 0) throw new Error('A role for people needs at least one principal');
  return all.length === 1 ? all[0] : new iam.CompositePrincipal(...all);
}
