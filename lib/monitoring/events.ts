import { Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Alerting } from '../alerting';

/** Props of {@link OperationalEvents}. */
export interface OperationalEventsProps {
  readonly alerting: Alerting;
  /** Services whose failed deployments are reported. */
  readonly services: readonly ecs.IBaseService[];
  /** The database whose RDS events are reported. */
  readonly database: rds.IDatabaseInstance;
}

/**
 * RDS event categories that page: the instance shut down or restarted (`availability`, which RDS
 * keeps apart from `failure`), failed, or storage is about to run out. Failover,
 * maintenance, recovery and notices are tickets (a Multi-AZ failover heals itself; the symptoms it
 * causes have their own alarms).
 */
export const RDS_PAGE_CATEGORIES = ['availability', 'failure', 'low storage'] as const;
/** RDS event categories that are tickets. */
export const RDS_TICKET_CATEGORIES = ['failover', 'maintenance', 'notification', 'recovery'] as const;

/**
 * Events no metric shows, routed like alarms (docs/runbooks.md "Routing"):
 * - ECS `SERVICE_DEPLOYMENT_FAILED` (the circuit breaker or a deployment alarm rolled a deployment
 *   back, e.g. a runbook `--force-new-deployment`): a ticket, since the previous version runs on;
 * - RDS events of the instance through two event subscriptions, by severity.
 */
export class OperationalEvents extends Construct {
  constructor(scope: Construct, id: string, props: OperationalEventsProps) {
    super(scope, id);
    const { alerting } = props;
    const ticket = alerting.route('ticket').alarm as sns.Topic;
    const page = alerting.route('page').alarm as sns.Topic;

    const rule = new events.Rule(this, 'DeploymentFailed', {
      description: 'ECS rolled a deployment of bot or ml-service back (SERVICE_DEPLOYMENT_FAILED): a ticket',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Deployment State Change'],
        resources: props.services.map((s) => s.serviceArn),
        detail: { eventName: ['SERVICE_DEPLOYMENT_FAILED'] },
      },
    });
    alerting.publishRuleTo(
      rule,
      ticket,
      'deployment-failed-events-undelivered',
      'a failed-deployment notice',
    );
    Validations.of(rule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'EventBridge retries delivery to the ticket topic for 24 hours; a delivery that still fails raises ' +
        'deployment-failed-events-undelivered (FailedInvocations) on the fallback route, and the failed ' +
        'deployment also shows in ops status',
    });

    const subscribe = (subscriptionId: string, topic: sns.Topic, categories: readonly string[]) => {
      alerting.allowService(topic, 'events.rds.amazonaws.com');
      new rds.CfnEventSubscription(this, subscriptionId, {
        snsTopicArn: topic.topicArn,
        sourceType: 'db-instance',
        sourceIds: [props.database.instanceIdentifier],
        eventCategories: [...categories],
        enabled: true,
      });
    };
    subscribe('DatabasePages', page, RDS_PAGE_CATEGORIES);
    subscribe('DatabaseTickets', ticket, RDS_TICKET_CATEGORIES);
  }
}
