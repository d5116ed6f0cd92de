import { AspectPriority, Aspects, IAspect, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';

/**
 * The stack's customer-managed key: secrets, log groups and the on-call topic are encrypted with it
 * (Security Hub / NIST ask for CMKs there), and its policy lets exactly the services that need it use
 * it: CloudWatch Logs for this account's log groups, CloudWatch alarms for publishing to the topic.
 * Retained when the stack is deleted, because retained logs and secrets stay readable only with it
 * (but not when the stack's create rolls back: nothing encrypted with it is kept then).
 */
export class Encryption extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const { region, account } = Stack.of(this);
    this.key = new kms.Key(this, 'Key', {
      description: 'Clever Better: secrets, logs and the on-call topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsForThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${region}:${account}:log-group:*` },
        },
      }),
    );
    // CloudWatch alarms publish to the encrypted on-call topic; the AWS-managed SNS key cannot allow that.
    // Only this account's alarms in this region (confused-deputy protection): every alarm name, so an
    // alarm named outside the usual prefix still pages.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${region}:${account}:alarm:*` },
        },
      }),
    );
    Aspects.of(Stack.of(this)).add(new EncryptLogGroups(this.key), { priority: AspectPriority.MUTATING });
  }
}

/**
 * Encrypts every log group of the stack with the key, including those created inside constructs
 * that do not expose the setting, so no log group can be added unencrypted by accident.
 */
class EncryptLogGroups implements IAspect {
  constructor(private readonly key: kms.IKey) {}

  visit(node: IConstruct): void {
    if (node instanceof logs.CfnLogGroup && node.kmsKeyId === undefined) {
      node.kmsKeyId = this.key.keyArn;
    }
  }
}
