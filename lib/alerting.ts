import { Duration, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
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
  /**
   * Second mailbox, subscribed to the fallback topic: where failed deliveries of every other topic are
   * reported, so a broken route is never reported through itself.
   */
  readonly fallbackEmail: string;
}

/** Where an alarm of a given severity sends its ALARM and OK notifications. */
export interface Route {
  readonly alarm: sns.ITopic;
  /** Where OK goes: the pager only, so incidents resolve themselves; no inbox gets an OK. */
  readonly ok?: sns.ITopic;
}

/** A topic and the alarm on its failed deliveries. */
export interface DeliveryWatch {
  readonly topic: sns.Topic;
  readonly alarm: cloudwatch.Alarm;
}

/**
 * The environment's notification topics, by severity:
 * - `Page` (only where `pages`): the pager over HTTPS (URL from a secret) and the on-call e-mail;
 * - `Resolved` (only with a pager): OK notifications of paging alarms, delivered to the pager alone;
 * - `Tickets`: the on-call e-mail; every ticket, and every page in an environment that pages nobody;
 * - `Fallback`: a second mailbox (`fallbackEmail`); only the alarms on the others' failed deliveries.
 *
 * Every topic has an alarm on its failed deliveries (SNS `NumberOfNotificationsFailed`), routed by a
 * different path than the one it watches: page and ticket failures to the fallback topic, resolved
 * (pager OK) failures to the ticket inbox, fallback failures to the page topic (else the tickets).
 *
 * Each topic is encrypted, refuses publishing without TLS, and allows exactly this account's alarms
 * named `<alarmPrefix>-*` to publish (a topic policy replaces SNS's default one: without that Allow,
 * CloudWatch is refused; AWS Knowledge Center "cloudwatch-receive-sns-for-alarm-trigger").
 */
export class Alerting extends Construct {
  readonly ticketTopic: sns.Topic;
  readonly pageTopic?: sns.Topic;
  readonly resolvedTopic?: sns.Topic;
  /** The independent route of delivery failures: a second mailbox. */
  readonly fallbackTopic: sns.Topic;
  /** Failed deliveries of the page topic (the pager refused, e-mail bounced), reported on the fallback route. */
  readonly pageDeliveryFailedAlarm?: cloudwatch.Alarm;
  /** Every topic with the alarm on its failed deliveries. */
  readonly deliveryWatches: DeliveryWatch[] = [];
  private readonly props: AlertingProps;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    this.props = props;
    this.ticketTopic = this.newTopic('Tickets', 'Clever Better tickets');
    this.subscribeEmail(this.ticketTopic, props.email);
    this.fallbackTopic = this.newTopic('Fallback', 'Clever Better undelivered notifications');
    this.subscribeEmail(this.fallbackTopic, props.fallbackEmail);

    if (props.pages) {
      // The construct id of the page topic predates severities: it stays the on-call topic's.
      this.pageTopic = this.newTopic('OnCall', 'Clever Better pages');
      if (props.pager) {
        this.resolvedTopic = this.newTopic('Resolved', 'Clever Better pages resolved');
        for (const topic of [this.pageTopic, this.resolvedTopic]) this.subscribePager(topic, props.pager);
      }
      this.subscribeEmail(this.pageTopic, props.email);
    }

    // A notification nobody received is the worst failure of all: each topic's failures are reported
    // through another topic, to another endpoint.
    const watch = (topic: sns.Topic, symptom: string, what: string, via: sns.Topic) => {
      const alarm = new cloudwatch.Alarm(this, `${topic.node.id}DeliveryFailed`, {
        alarmName: `${props.alarmPrefix}-${symptom}`,
        alarmDescription:
          `SNS could not deliver ${what}. They may be reaching nobody: check the endpoint and the subscriptions ` +
          `with npm run ops -- status. Runbook: ${props.runbookUrl('routing')}`,
        metric: topic.metricNumberOfNotificationsFailed({
          statistic: cloudwatch.Stats.SUM,
          period: Duration.minutes(1),
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // SNS publishes the metric only when there were deliveries.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(new actions.SnsAction(via));
      this.deliveryWatches.push({ topic, alarm });
      return alarm;
    };
    if (this.pageTopic) {
      this.pageDeliveryFailedAlarm = watch(
        this.pageTopic,
        'page-delivery-failed',
        'a page (pager endpoint refused or unreachable, e-mail bounced)',
        this.fallbackTopic,
      );
    }
    if (this.resolvedTopic) {
      watch(this.resolvedTopic, 'resolved-delivery-failed', "a page's OK to the pager", this.ticketTopic);
    }
    watch(
      this.ticketTopic,
      'ticket-delivery-failed',
      'a ticket (the on-call e-mail bounced)',
      this.fallbackTopic,
    );
    watch(
      this.fallbackTopic,
      'fallback-delivery-failed',
      'a report of an undelivered notification to the fallback mailbox',
      this.pageTopic ?? this.ticketTopic,
    );
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
    return [this.pageTopic, this.resolvedTopic, this.ticketTopic, this.fallbackTopic].filter(
      (t): t is sns.Topic => !!t,
    );
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
   * to `topic`, from this account only, and use the topic's key for it. The key-policy statement
   * carries only what AWS documents for the path:
   * - `events.amazonaws.com`: `kms:Decrypt` and `kms:GenerateDataKey` (EventBridge User Guide, "Using
   *   resource-based policies for Amazon EventBridge", section "Amazon SNS permissions", encrypted
   *   topics) with the condition `aws:SourceAccount` (EventBridge User Guide, "Authorizing
   *   EventBridge to use a customer managed key": `aws:SourceArn`, `aws:SourceAccount` or the bus's
   *   encryption context; the rule ARN is not the bus ARN, so the account it is);
   * - `events.rds.amazonaws.com`: `kms:Decrypt` and `kms:GenerateDataKey*` (Amazon SNS Developer
   *   Guide, "Key management", "Enable compatibility between event sources from AWS services and
   *   encrypted topics") with `aws:SourceAccount`.
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
    const keyActions =
      servicePrincipal === 'events.amazonaws.com'
        ? ['kms:Decrypt', 'kms:GenerateDataKey']
        : ['kms:Decrypt', 'kms:GenerateDataKey*'];
    this.props.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [principal],
        actions: keyActions,
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
  }

  /**
   * Makes `topic` a target of `rule` (allowing EventBridge as {@link allowService} says) and adds the
   * alarm `<symptom>` on the rule's `FailedInvocations`: EventBridge retries for 24 hours and then
   * drops the event, and nothing else would tell. The alarm is routed by another path than `topic`:
   * the fallback mailbox.
   */
  publishRuleTo(rule: events.Rule, topic: sns.Topic, symptom: string, what: string): cloudwatch.Alarm {
    this.allowService(topic, 'events.amazonaws.com');
    // Not targets.SnsTopic: it would grant events.amazonaws.com the key without a source condition.
    rule.addTarget({ bind: () => ({ arn: topic.topicArn }) });
    const alarm = new cloudwatch.Alarm(rule, 'FailedInvocations', {
      alarmName: `${this.props.alarmPrefix}-${symptom}`,
      alarmDescription:
        `EventBridge could not publish ${what} to its topic (FailedInvocations): check the topic and key ` +
        `policies. Runbook: ${this.props.runbookUrl('routing')}`,
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'FailedInvocations',
        dimensionsMap: { RuleName: rule.ruleName },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // EventBridge publishes FailedInvocations only when a delivery fails.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(
      new actions.SnsAction(topic === this.fallbackTopic ? this.ticketTopic : this.fallbackTopic),
    );
    return alarm;
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

  private subscribeEmail(topic: sns.Topic, address: string): void {
    const subscription = topic.addSubscription(new subscriptions.EmailSubscription(address));
    Validations.of(subscription).acknowledge({
      id: 'Serverless-SNSRedrivePolicy',
      reason:
        'SNS retries e-mail delivery itself; a dead-letter queue for an e-mail would hold pages nobody reads. ' +
        "Each topic's failed deliveries alarm (*-delivery-failed) through another topic",
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
        "SNS retries HTTPS deliveries with its delivery policy; a page held in a queue wakes nobody. The topic's " +
        'NumberOfNotificationsFailed alarms through another topic (*-delivery-failed)',
    });
  }
}
