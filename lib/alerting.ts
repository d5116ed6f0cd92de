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
}

/**
 * The on-call SNS topic every alarm, the emergency stop and the rollback notify. Publishing is
 * allowed over TLS only (the topic policy denies `aws:SecureTransport=false`).
 */
export class Alerting extends Construct {
  readonly topic: sns.Topic;

  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    // A customer-managed key: CloudWatch alarms cannot publish to a topic under the AWS-managed
    // alias/aws/sns key, whose policy cannot grant them kms:GenerateDataKey.
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the Clever Better on-call topic',
      enableKeyRotation: true,
    });
    this.key.grant(
      new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.topic = new sns.Topic(this, 'OnCall', {
      displayName: 'Clever Better on-call',
      enforceSSL: true,
      masterKey: this.key,
    });
    this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
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
