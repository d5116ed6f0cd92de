import { Duration, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { PagerSecretConfig } from '../environments/types';

/** How urgently an alarm needs a person: a page wakes someone, a ticket waits for working hours. */
export type Severity = 'page' | 'ticket';

/** Props of {@link Alerting}. */
export interface AlertingProps {
  /** On-call e-mail: second subscriber of pages, and the ticket inbox. */
  readonly email: string;
  /** Key the topics are encrypted with; its policy must let CloudWatch alarms use it (see Encryption). */
  readonly key: kms.IKey;
  /**
   * Prefix of every alarm name, `clever-better-<env>`: the topic policies let CloudWatch publish for
   * alarms `arn:aws:cloudwatch:<region>:<account>:alarm:<prefix>-*` only.
   */
  readonly alarmPrefix: string;
  /** Whether the environment pages anyone; when false there is no page topic and pages become tickets. */
  readonly pages: boolean;
  /** The pager's HTTPS integration URL, held in a secret. @default no pager */
  readonly pager?: PagerSecretConfig;
  /** Runbook link of the alarm on the page topic's failed deliveries. */
  readonly runbookUrl: (anchor: string) => string;
}

/** Where an alarm of a given severity sends its ALARM and OK notifications. */
export interface Route {
  readonly alarm: sns.ITopic;
  /** Where OK goes: the pager only, so incidents resolve themselves; no inbox gets an OK. */
  readonly ok?: sns.ITopic;
}

/**
 * The environment's notification topics, by severity:
 * - `Page` (only where `pages`): the pager over HTTPS (URL from a secret) and the on-call e-mail;
 * - `Resolved` (only with a pager): OK notifications of paging alarms, delivered to the pager alone;
 * - `Tickets`: the on-call e-mail; every ticket, and every page in an environment that pages nobody.
 *
 * Each topic is encrypted, refuses publishing without TLS, and allows exactly this account's alarms
 * named `<alarmPrefix>-*` to publish (a topic policy replaces SNS's default one: without that Allow,
 * CloudWatch is refused; AWS Knowledge Center "cloudwatch-receive-sns-for-alarm-trigger").
 */
export class Alerting extends Construct {
  readonly ticketTopic: sns.Topic;
  readonly pageTopic?: sns.Topic;
  readonly resolvedTopic?: sns.Topic;
  /** Failed deliveries of the page topic (the pager refused, e-mail bounced), reported as a ticket. */
  readonly pageDeliveryFailedAlarm?: cloudwatch.Alarm;
  private readonly props: AlertingProps;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    this.props = props;
    this.ticketTopic = this.newTopic('Tickets', 'Clever Better tickets');
    this.subscribeEmail(this.ticketTopic);
    if (!props.pages) return;

    // The construct id of the page topic predates severities: it stays the on-call topic's.
    this.pageTopic = this.newTopic('OnCall', 'Clever Better pages');
    if (props.pager) {
      this.resolvedTopic = this.newTopic('Resolved', 'Clever Better pages resolved');
      for (const topic of [this.pageTopic, this.resolvedTopic]) this.subscribePager(topic, props.pager);
    }
    this.subscribeEmail(this.pageTopic);

    // A page nobody received is the worst failure of all: report it through the other topic.
    this.pageDeliveryFailedAlarm = new cloudwatch.Alarm(this, 'PageDeliveryFailed', {
      alarmName: `${props.alarmPrefix}-page-delivery-failed`,
      alarmDescription:
        'SNS could not deliver a page (pager endpoint refused or unreachable, e-mail bounced). ' +
        'Pages may be reaching nobody: check the pager integration and the subscriptions with ' +
        `npm run ops -- status. Runbook: ${props.runbookUrl('routing')}`,
      metric: this.pageTopic.metricNumberOfNotificationsFailed({
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // SNS publishes the metric only when there were deliveries.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.pageDeliveryFailedAlarm.addAlarmAction(new actions.SnsAction(this.ticketTopic));
  }

  /**
   * The on-call route of the functions' own reports (emergency stop, rollback): the page topic where
   * the environment pages, the ticket topic elsewhere.
   */
  get topic(): sns.ITopic {
    return this.pageTopic ?? this.ticketTopic;
  }

  /** Every topic an alarm may notify. */
  get topics(): sns.Topic[] {
    return [this.pageTopic, this.resolvedTopic, this.ticketTopic].filter((t): t is sns.Topic => !!t);
  }

  /** Where an alarm of `severity` notifies; a page becomes a ticket where nobody is paged. */
  route(severity: Severity): Route {
    if (severity === 'page' && this.pageTopic) return { alarm: this.pageTopic, ok: this.resolvedTopic };
    return { alarm: this.ticketTopic };
  }

  /**
   * Lets `grantee` publish to the on-call route and use its key only through SNS (`kms:ViaService`:
   * the topic's `grantPublish` would allow the key for any use), acknowledging the one wildcard this
   * needs next to the grant, so each publisher carries its own reviewed acknowledgement.
   */
  grantPublish(grantee: iam.IRole): void {
    grantee.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
    );
    grantee.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: [this.props.key.keyArn],
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
   * The on-call route as a Lambda on-failure destination, granted through {@link grantPublish}:
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

  /**
   * Lets an AWS service other than CloudWatch alarms (EventBridge, RDS event notifications) publish
   * to `topic`, from this account only, and use the topic's key for it.
   */
  allowService(topic: sns.Topic, servicePrincipal: string): void {
    const { account } = Stack.of(this);
    const principal = new iam.ServicePrincipal(servicePrincipal);
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [principal],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    this.props.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [principal],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
  }

  private newTopic(id: string, displayName: string): sns.Topic {
    const topic = new sns.Topic(this, id, { displayName, enforceSSL: true, masterKey: this.props.key });
    const { account, region, partition } = Stack.of(this);
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisEnvironmentsAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: {
            'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:${this.props.alarmPrefix}-*`,
          },
        },
      }),
    );
    return topic;
  }

  private subscribeEmail(topic: sns.Topic): void {
    const subscription = topic.addSubscription(new subscriptions.EmailSubscription(this.props.email));
    Validations.of(subscription).acknowledge({
      id: 'Serverless-SNSRedrivePolicy',
      reason:
        'SNS retries e-mail delivery itself; a dead-letter queue for the on-call e-mail would hold pages nobody reads. ' +
        'Failed deliveries of pages alarm (page-delivery-failed) through the ticket topic',
    });
  }

  private subscribePager(topic: sns.Topic, pager: PagerSecretConfig): void {
    // A dynamic reference: CloudFormation reads the URL at deploy time; the template holds only its name.
    // It re-reads it only when the reference text changes: the version id is what a rotation changes.
    const endpoint = SecretValue.secretsManager(pager.urlSecretName, {
      jsonField: pager.urlSecretField,
      versionId: pager.urlSecretVersionId,
    });
    const subscription = new sns.Subscription(this, `${topic.node.id}Pager`, {
      topic,
      protocol: sns.SubscriptionProtocol.HTTPS,
      endpoint: endpoint.unsafeUnwrap(),
    });
    Validations.of(subscription).acknowledge({
      id: 'Serverless-SNSRedrivePolicy',
      reason:
        "SNS retries HTTPS deliveries with its delivery policy; a page held in a queue wakes nobody. The page topic's " +
        'NumberOfNotificationsFailed alarms through the ticket topic',
    });
  }
}
