import { IAspect, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { IConstruct } from 'constructs';
import { Alerting } from '../alerting';
import { routingOf } from './severity';

/** Props of {@link AlarmRouting}. */
export interface AlarmRoutingProps {
  readonly alerting: Alerting;
  /** `clever-better-<env>`: every alarm is named `<prefix>-<symptom>`. */
  readonly alarmPrefix: string;
  /** Absolute runbook URL of an anchor. */
  readonly runbookUrl: (anchor: string) => string;
}

const RUNBOOK_MENTION = /\s*Runbook:\s*\S+/g;

/**
 * Applies the severity table to every alarm of the stack, whoever created it: its ALARM action goes
 * to the severity's topic, its OK action to the pager alone (never an inbox; none for a page that
 * stays open until a person acts), and its description
 * ends with one absolute runbook link. Other actions (the emergency stop's Lambda) are kept.
 * An alarm without a literal `<prefix>-<symptom>` name, or whose symptom has no row, fails synth.
 */
export class AlarmRouting implements IAspect {
  private topicRefs?: string[];

  constructor(private readonly props: AlarmRoutingProps) {}

  visit(node: IConstruct): void {
    if (!(node instanceof cloudwatch.CfnAlarm || node instanceof cloudwatch.CfnCompositeAlarm)) return;
    const stack = Stack.of(node);
    const name = node.alarmName;
    const prefix = `${this.props.alarmPrefix}-`;
    if (typeof name !== 'string' || Token.isUnresolved(name) || !name.startsWith(prefix)) {
      throw new Error(
        `Alarm ${node.node.path} has name ${JSON.stringify(name)}: every alarm needs a literal name "${prefix}<symptom>" ` +
          '(lib/monitoring/names.ts alarmName) so the severity table can route it and the topic policy admits it',
      );
    }
    const symptom = name.slice(prefix.length);
    const routing = routingOf(symptom);
    if (!routing) {
      throw new Error(
        `Alarm "${name}" has no row for symptom "${symptom}" in lib/monitoring/severity.ts SEVERITY_TABLE: ` +
          'add one with its severity (page, ticket or none) and runbook anchor',
      );
    }
    this.topicRefs ??= this.props.alerting.topics.map((t) => JSON.stringify(stack.resolve(t.topicArn)));
    const notTopic = (action: unknown) => !this.topicRefs!.includes(JSON.stringify(action));
    // The L2 alarm's action lists are lazy tokens: resolve them whole, then filter their elements.
    const kept = (actions: unknown): unknown[] => {
      const resolved: unknown = stack.resolve(actions);
      return Array.isArray(resolved) ? resolved.filter(notTopic) : [];
    };

    const self = routing.severity === 'self';
    // A `self` alarm keeps the topic it chose (another path than the one it watches).
    const alarmActions: unknown[] = self
      ? ((stack.resolve(node.alarmActions) as unknown[]) ?? [])
      : kept(node.alarmActions);
    const okActions: unknown[] = kept(node.okActions);
    if (routing.severity === 'page' || routing.severity === 'ticket') {
      const route = this.props.alerting.route(routing.severity);
      alarmActions.push(route.alarm.topicArn);
      if (route.ok && !routing.untilAcknowledged) okActions.push(route.ok.topicArn);
    }
    const list = (actions: unknown[]) => (actions.length > 0 ? (actions as string[]) : undefined);
    node.alarmActions = list(alarmActions);
    node.okActions = list(okActions);
    node.insufficientDataActions = list(kept(node.insufficientDataActions));
    if (alarmActions.length > 0 || okActions.length > 0) node.actionsEnabled = true;
    else if (routing.severity === 'none' && !symptom.includes('-deployment-')) {
      // Deployment alarms carry their own acknowledgement (lib/deployment-safety.ts).
      Validations.of(node).acknowledge({
        id: 'NIST.800.53.R5-CloudWatchAlarmAction',
        reason:
          'Severity "none" in lib/monitoring/severity.ts: a composite alarm reads it and notifies for it; ' +
          'its own notification would duplicate the composite or bypass its suppression',
      });
    }

    const description = typeof node.alarmDescription === 'string' ? node.alarmDescription : '';
    const what = description.replace(RUNBOOK_MENTION, '').trim();
    const label =
      routing.severity === 'none'
        ? 'Notifies nobody itself'
        : routing.severity === 'self'
          ? 'Reported on another route than the one it watches'
          : `Severity: ${routing.severity}${routing.untilAcknowledged ? ', open until a person acts' : ''}`;
    node.alarmDescription = `${what} ${label}. Runbook: ${this.props.runbookUrl(routing.runbook)}`.trim();
  }
}
