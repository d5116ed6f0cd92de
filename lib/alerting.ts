import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Props of {@link Alerting}. */
export interface AlertingProps {
  /** E-mail address subscribed to the on-call topic. */
  readonly email: string;
  /** Key the topic is encrypted with; its policy must let CloudWatch alarms use it (see Encryption). */
  readonly key: kms.IKey;
}

/**
 * The on-call SNS topic every alarm, the emergency stop and the rollback notify. Publishing is
 * allowed over TLS only (the topic policy denies `aws:SecureTransport=false`).
 */
export class Alerting extends Construct {
  readonly topic: sns.Topic;
  private readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    this.key = props.key;
    this.topic = new sns.Topic(this, 'OnCall', {
      displayName: 'Clever Better on-call',
      enforceSSL: true,
      masterKey: props.key,
    });
    const subscription = this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    Validations.of(subscription).acknowledge({
      id: 'Serverless-SNSRedrivePolicy',
      reason:
        'SNS retries e-mail delivery itself; a dead-letter queue for the on-call e-mail would hold pages nobody reads. ' +
        'Failed deliveries show as NumberOfNotificationsFailed on the topic',
    });
  }

  /**
   * Lets `grantee` publish to the topic and use its key only through SNS (`kms:ViaService`: the
   * topic's `grantPublish` would allow the key for any use), acknowledging the one wildcard this
   * needs next to the grant, so each publisher carries its own reviewed acknowledgement.
   */
  grantPublish(grantee: iam.IRole): void {
    grantee.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
    );
    grantee.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
    Validations.of(grantee).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to the encrypted on-call topic needs GenerateDataKey* on its key, and only that key',
    });
  }

  /**
   * The topic as a Lambda on-failure destination, granted through {@link grantPublish}:
   * `SnsDestination` would grant the topic's key without `kms:ViaService`.
   */
  asDestination(): lambda.IDestination {
    return {
      bind: (_scope, fn) => {
        if (!fn.role) throw new Error(`${fn.node.path} has no role to grant publishing to the on-call topic`);
        this.grantPublish(fn.role);
        return { destination: this.topic.topicArn };
      },
    };
  }
}
