import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
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

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
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
   * Lets `grantee` publish to the topic (and use its key), acknowledging the one wildcard this
   * needs next to the grant, so each publisher carries its own reviewed acknowledgement.
   */
  grantPublish(grantee: iam.IRole): void {
    this.topic.grantPublish(grantee);
    Validations.of(grantee).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to the encrypted on-call topic needs GenerateDataKey* on its key, and only that key',
    });
  }
}
