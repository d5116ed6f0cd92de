import { Template } from 'aws-cdk-lib/assertions';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { production, staging } from '../environments';
import { EnvironmentConfig } from '../environments/types';
import { CleverBetterStack } from '../lib/clever-better-stack';
import { monitoringNames, routingOf, runbookLink, SEVERITY_TABLE } from '../lib/monitoring';
import { PUBLISHING_INTERVAL_SECONDS } from '../lib/metrics';
import { ENVIRONMENT_NAMES, synthesized } from './helpers/app';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const CONFIGS: Record<string, EnvironmentConfig> = { staging, production };

/** Every alarm (metric and composite) of a template, with its symptom. */
function alarmsOf(template: Template, env: string): { id: string; symptom: string; props: Json }[] {
  const prefix = `${monitoringNames(env as 'staging').alarmPrefix}-`;
  return ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm'].flatMap((type) =>
    Object.entries(template.findResources(type)).map(([id, r]) => {
      const props = (r as { Properties: Json }).Properties;
      expect(props.AlarmName).toMatch(new RegExp(`^${prefix}`));
      return { id, symptom: (props.AlarmName as string).slice(prefix.length), props };
    }),
  );
}

function topicId(stack: CleverBetterStack, topic: { node: { defaultChild?: unknown } } | undefined) {
  return topic ? stack.getLogicalId(topic.node.defaultChild as never) : undefined;
}

/** GitHub's heading anchors of docs/runbooks.md. */
const RUNBOOK_ANCHORS = new Set(
  fs
    .readFileSync(path.join(__dirname, '..', 'docs', 'runbooks.md'), 'utf8')
    .split('\n')
    .filter((l) => /^#{2,3} /.test(l))
    .map((l) =>
      l
        .replace(/^#+ /, '')
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
    ),
);

describe.each(ENVIRONMENT_NAMES)('%s: severity routing', (env) => {
  const { stack, template } = synthesized(env);
  const config = CONFIGS[env];
  const alarms = alarmsOf(template, env);
  const page = topicId(stack, stack.alerting.pageTopic);
  const resolved = topicId(stack, stack.alerting.resolvedTopic);
  const ticket = topicId(stack, stack.alerting.ticketTopic);

  test('every alarm has a row in the severity table, and its actions are the row’s route', () => {
    expect(alarms.length).toBeGreaterThan(40);
    for (const { symptom, props } of alarms) {
      const row = routingOf(symptom);
      expect({ symptom, row }).toEqual({ symptom, row: expect.anything() });
      const topics = (list: unknown) =>
        ((list as Json[] | undefined) ?? []).map((a) => a.Ref).filter((r) => typeof r === 'string');
      // `self` alarms keep their own route (checked below: another path than the one they watch).
      if (row!.severity === 'self') continue;
      const want = row!.severity === 'none' ? [] : row!.severity === 'page' && page ? [page] : [ticket];
      expect({ symptom, alarm: topics(props.AlarmActions) }).toEqual({ symptom, alarm: want });
      // OK goes to the pager alone, so incidents resolve themselves; no inbox gets an OK; a page that
      // must stay open until a person acts gets none.
      const ok = row!.severity === 'page' && resolved && !row!.untilAcknowledged ? [resolved] : [];
      expect({ symptom, ok: topics(props.OKActions) }).toEqual({ symptom, ok });
    }
  });

  test('every alarm links its row’s runbook section with an absolute URL that exists in docs/runbooks.md', () => {
    for (const { symptom, props } of alarms) {
      const row = routingOf(symptom)!;
      const url = runbookLink(config.alerting.repositoryUrl, config.alerting.runbookRef, row.runbook);
      expect(props.AlarmDescription).toMatch(/^https:|Runbook: https:\/\//);
      expect({ symptom, ends: (props.AlarmDescription as string).endsWith(`Runbook: ${url}`) }).toEqual({
        symptom,
        ends: true,
      });
      expect((props.AlarmDescription as string).length).toBeLessThanOrEqual(1024);
      expect({ anchor: row.runbook, exists: RUNBOOK_ANCHORS.has(row.runbook) }).toEqual({
        anchor: row.runbook,
        exists: true,
      });
    }
  });

  test('the stop’s own alarms page and are never suppressed; trading-halted suppresses only post-stop symptoms', () => {
    const halted = alarms.find((a) => a.symptom === 'trading-halted')!;
    const stopAlarms = alarms.filter((a) => a.symptom.startsWith('emergency-stop-'));
    expect(stopAlarms.length).toBeGreaterThanOrEqual(5);
    for (const a of stopAlarms) {
      expect({ symptom: a.symptom, severity: routingOf(a.symptom)!.severity }).toEqual({
        symptom: a.symptom,
        severity: 'page',
      });
      expect(JSON.stringify(a.props.ActionsSuppressor ?? null)).not.toContain(halted.id);
    }
    const suppressed = alarms.filter((a) =>
      JSON.stringify(a.props.ActionsSuppressor ?? null).includes(halted.id),
    );
    expect(suppressed.map((a) => a.symptom).sort()).toEqual(
      [
        'bot-silent-while-trading',
        'trading-impaired',
        ...(env === 'production' ? ['bot-no-bets-while-trading'] : []),
      ].sort(),
    );
    // No suppressed composite reads a stop alarm either.
    for (const a of suppressed) {
      for (const stop of stopAlarms) expect(JSON.stringify(a.props.AlarmRule)).not.toContain(stop.id);
    }
    // The symptoms a stop causes notify nobody themselves: only through the suppressed composites.
    for (const s of ['bot-silent', 'bot-no-bets']) expect(SEVERITY_TABLE[s].severity).toBe('none');
  });

  test('stop-not-in-effect waits stopEffectMinutes for the bot to have no task, then pages', () => {
    const a = alarms.find((x) => x.symptom === 'emergency-stop-not-in-effect')!;
    const stopped = alarms.find((x) => x.symptom === 'bot-tasks-stopped')!;
    const running = alarms.find((x) => x.symptom === 'bot-tasks-running')!;
    expect(a.props.ActionsSuppressor).toEqual({ 'Fn::GetAtt': [stopped.id, 'Arn'] });
    expect(a.props.ActionsSuppressorWaitPeriod).toBe(config.monitoring.stopEffectMinutes * 60);
    const rule = JSON.stringify(a.props.AlarmRule);
    expect(rule).toContain(running.id);
    for (const trigger of stack.emergencyStop.triggerAlarms) {
      expect(rule).toContain(stack.getLogicalId(trigger.node.defaultChild as never));
    }
  });

  test('trading-still-halted is raised once a day, in the configured UTC hour', () => {
    const a = alarms.find((x) => x.symptom === 'trading-still-halted')!;
    const expr = (a.props.Metrics as Json[]).find((m) => m.ReturnData !== false && m.Expression)!.Expression;
    expect(expr).toContain(`HOUR(FILL(desired, 0)) == ${config.monitoring.haltedReminderHourUtc}`);
    expect(a.props).toMatchObject({ EvaluationPeriods: 1 });
    expect((a.props.Metrics as Json[]).filter((m) => m.MetricStat).map((m) => m.MetricStat.Period)).toEqual([
      3600,
    ]);
    // The desired count alone: a bot that runs with live trading off by configuration is not halted.
    expect(JSON.stringify(a.props.Metrics)).not.toContain('LiveTradingEnabled');
  });

  test('every topic has a delivery-failure alarm reported through another topic that reaches a person', () => {
    const resources = template.toJSON().Resources as Json;
    const topics = Object.keys(template.findResources('AWS::SNS::Topic'));
    const subscribed = new Set(
      Object.values(template.findResources('AWS::SNS::Subscription')).map(
        (r) => (r as Json).Properties.TopicArn.Ref as string,
      ),
    );
    expect(topics.length).toBeGreaterThanOrEqual(2);
    for (const topic of topics) {
      const watches = alarms.filter(
        (a) =>
          a.props.Namespace === 'AWS/SNS' &&
          a.props.MetricName === 'NumberOfNotificationsFailed' &&
          JSON.stringify(a.props.Dimensions) ===
            JSON.stringify([{ Name: 'TopicName', Value: { 'Fn::GetAtt': [topic, 'TopicName'] } }]),
      );
      expect({ topic, watches: watches.length }).toEqual({ topic, watches: 1 });
      const via = (watches[0].props.AlarmActions as Json[]).map((x) => x.Ref as string);
      expect({
        topic,
        via,
        otherPath: !via.includes(topic),
        reachesPerson: via.some((t) => subscribed.has(t)),
      }).toEqual({
        topic,
        via,
        otherPath: true,
        reachesPerson: true,
      });
      expect(resources[via[0]].Type).toBe('AWS::SNS::Topic');
    }
  });

  test('every EventBridge rule that targets a topic has a FailedInvocations alarm reported elsewhere', () => {
    const topics = new Set(Object.keys(template.findResources('AWS::SNS::Topic')));
    const rules = Object.entries(template.findResources('AWS::Events::Rule')).filter(([, r]) =>
      ((r as Json).Properties.Targets as Json[]).some((t) => topics.has(t.Arn?.Ref)),
    );
    expect(rules.length).toBeGreaterThanOrEqual(1);
    for (const [id, r] of rules) {
      const targets = ((r as Json).Properties.Targets as Json[]).map((t) => t.Arn?.Ref);
      const watch = alarms.find(
        (a) =>
          a.props.Namespace === 'AWS/Events' &&
          a.props.MetricName === 'FailedInvocations' &&
          JSON.stringify(a.props.Dimensions).includes(`"${id}"`),
      );
      expect({ id, watched: !!watch }).toEqual({ id, watched: true });
      const via = (watch!.props.AlarmActions as Json[]).map((x) => x.Ref as string);
      expect(via.length).toBeGreaterThan(0);
      for (const t of via) expect(targets).not.toContain(t);
    }
  });

  test('topic ARNs are stack outputs ending in TopicArn (ops status and preflight find them)', () => {
    const outputs = template.toJSON().Outputs as Json;
    const arns = Object.entries(outputs)
      .filter(([k]) => k.endsWith('TopicArn'))
      .map(([, o]) => o.Value.Ref);
    const fallback = topicId(stack, stack.alerting.fallbackTopic);
    expect(new Set(arns)).toEqual(new Set([page, resolved, ticket, fallback].filter(Boolean)));
  });
});

describe('routing per environment', () => {
  test('production pages its pager over HTTPS (URL from a secret, never in the template) and e-mail', () => {
    const { stack, template } = synthesized('production');
    const page = topicId(stack, stack.alerting.pageTopic);
    const subs = Object.values(template.findResources('AWS::SNS::Subscription')).map(
      (r) => (r as Json).Properties,
    );
    const onPage = subs.filter((s) => s.TopicArn.Ref === page);
    expect(onPage.map((s) => s.Protocol).sort()).toEqual(['email', 'https']);
    const https = onPage.find((s) => s.Protocol === 'https')!;
    expect(JSON.stringify(https.Endpoint)).toContain(
      `{{resolve:secretsmanager:${production.alerting.pager!.urlSecretName}:SecretString:${production.alerting.pager!.urlSecretField}::}}`,
    );
    // OK notifications reach only the pager.
    const resolved = topicId(stack, stack.alerting.resolvedTopic);
    expect(subs.filter((s) => s.TopicArn.Ref === resolved).map((s) => s.Protocol)).toEqual(['https']);
  });

  test('staging pages nobody: no page topic, no pager, every alarm a ticket', () => {
    const { stack, template } = synthesized('staging');
    expect(stack.alerting.pageTopic).toBeUndefined();
    // Tickets, and the fallback route of their failed deliveries.
    template.resourceCountIs('AWS::SNS::Topic', 2);
    const subs = Object.values(template.findResources('AWS::SNS::Subscription')).map(
      (r) => (r as Json).Properties,
    );
    expect(subs.map((s) => [s.Protocol, s.Endpoint]).sort()).toEqual(
      [
        ['email', staging.alarmEmail],
        ['email', staging.alerting.fallbackEmail],
      ].sort(),
    );
  });
});

describe.each(ENVIRONMENT_NAMES)('%s: every alarm’s evaluation range covers what it watches', (env) => {
  const { template } = synthesized(env);
  const resources = template.toJSON().Resources as Json;
  const interval = (namespace: string, name: string) =>
    PUBLISHING_INTERVAL_SECONDS[`${namespace}/${name}`] ?? PUBLISHING_INTERVAL_SECONDS[`${namespace}/*`];

  test('function timeouts (Lambda stamps Errors at invocation start) and publishing intervals', () => {
    let checked = 0;
    const problems: string[] = [];
    for (const { symptom, props } of alarmsOf(template, env)) {
      if (props.AlarmRule) continue;
      const stats: { Metric: Json; Period: number }[] = props.MetricName
        ? [{ Metric: props, Period: props.Period }]
        : (props.Metrics as Json[])
            .filter((m) => m.MetricStat)
            .map((m) => ({ ...m.MetricStat, Period: m.MetricStat.Period }));
      const period: number = props.Period ?? Math.max(...stats.map((s) => s.Period));
      const range = period * props.EvaluationPeriods;
      for (const { Metric } of stats) {
        checked++;
        const every = interval(Metric.Namespace, Metric.MetricName);
        if (every === undefined)
          problems.push(
            `${symptom}: no publishing interval known for ${Metric.Namespace}/${Metric.MetricName}`,
          );
        else if (range < every)
          problems.push(`${symptom}: range ${range} s < publishing interval ${every} s`);
        if (Metric.Namespace === 'AWS/Lambda' && Metric.MetricName === 'Errors') {
          const fnRef = (Metric.Dimensions as Json[]).find((d) => d.Name === 'FunctionName')?.Value?.Ref;
          const timeout = resources[fnRef]?.Properties?.Timeout ?? 3;
          if (range < timeout + period) {
            problems.push(
              `${symptom}: range ${range} s < function timeout ${timeout} s + one period ${period} s`,
            );
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });
});

describe('docs/runbooks.md', () => {
  test('lists every row of the severity table with its severity and runbook, and nothing else', () => {
    const text = fs.readFileSync(path.join(__dirname, '..', 'docs', 'runbooks.md'), 'utf8');
    const rows = [
      ...text.matchAll(/^\| `([^`]+)` +\| (page\*?|ticket|none|self) +\| \[([a-z-]+)\]\(#([a-z-]+)\) +\|$/gm),
    ];
    // `page*`: a page that stays open until a person acts.
    const documented = Object.fromEntries(rows.map((m) => [m[1], { severity: m[2], runbook: m[4] }]));
    expect(documented).toEqual(
      Object.fromEntries(
        Object.entries(SEVERITY_TABLE).map(([k, r]) => [
          k,
          { severity: `${r.severity}${r.untilAcknowledged ? '*' : ''}`, runbook: r.runbook },
        ]),
      ),
    );
  });
});

describe.each(ENVIRONMENT_NAMES)('%s: events no metric shows', (env) => {
  const { stack, template } = synthesized(env);
  const ticket = topicId(stack, stack.alerting.ticketTopic);
  const page = topicId(stack, stack.alerting.pageTopic) ?? ticket;

  test('ECS SERVICE_DEPLOYMENT_FAILED of bot and ml-service raises a ticket', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Deployment State Change'],
        detail: { eventName: ['SERVICE_DEPLOYMENT_FAILED'] },
      },
      Targets: [{ Arn: { Ref: ticket } }],
    });
  });

  test('RDS availability, failure and low-storage events page; failover, maintenance, recovery and notices are tickets', () => {
    const subs = Object.values(template.findResources('AWS::RDS::EventSubscription')).map(
      (r) => (r as Json).Properties,
    );
    expect(subs.map((s) => [s.SnsTopicArn.Ref, s.EventCategories, s.SourceType]).sort()).toEqual(
      [
        [page, ['availability', 'failure', 'low storage'], 'db-instance'],
        [ticket, ['failover', 'maintenance', 'notification', 'recovery'], 'db-instance'],
      ].sort(),
    );
  });

  test('the topics they publish to let RDS and EventBridge publish, from this account only', () => {
    for (const [topic, service] of [
      [page, 'events.rds.amazonaws.com'],
      [ticket, 'events.rds.amazonaws.com'],
      [ticket, 'events.amazonaws.com'],
    ]) {
      const statements = Object.values(template.findResources('AWS::SNS::TopicPolicy'))
        .map((r) => (r as Json).Properties)
        .filter((p) => p.Topics.some((t: Json) => t.Ref === topic))
        .flatMap((p) => p.PolicyDocument.Statement as Json[]);
      const scoped = statements.filter(
        (st) =>
          st.Effect === 'Allow' &&
          [st.Principal?.Service].flat().includes(service) &&
          st.Condition?.StringEquals?.['aws:SourceAccount'] === stack.account,
      );
      expect({ topic, service, scoped: scoped.length }).toEqual({ topic, service, scoped: 1 });
    }
  });
});
