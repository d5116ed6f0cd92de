/**
 * Rule: every SNS topic an alarm notifies lets CloudWatch alarms publish to it, in its topic policy
 * and, when encrypted, in its key's policy.
 *
 * Source: AWS Knowledge Center "cloudwatch-receive-sns-for-alarm-trigger" (Why didn't I receive an
 * SNS notification for my CloudWatch alarm trigger?): a topic policy replaces SNS's default policy,
 * so without an Allow for `cloudwatch.amazonaws.com` every alarm action fails with "…is not
 * authorized to perform: SNS:Publish … because no resource-based policy allows the SNS:Publish
 * action"; an encrypted topic also needs the key policy to let CloudWatch use the key. The Allow is
 * scoped with `aws:SourceAccount` and `aws:SourceArn` (confused-deputy protection, IAM User Guide).
 *
 * Self-contained: walks the synthesized templates of both environments generically (every alarm →
 * every action → its topic → the topic's policy and key), never by logical id.
 */
import { environments } from '../../environments';
import { synthesized } from '../helpers/app';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Renders a string or `Fn::Join` of strings and pseudo parameters into one string. */
function flatten(value: unknown, pseudo: Record<string, string>): string | undefined {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if (v && typeof v.Ref === 'string' && pseudo[v.Ref]) return pseudo[v.Ref];
  if (v && Array.isArray(v['Fn::Join'])) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    const rendered = parts.map((p) => flatten(p, pseudo));
    return rendered.every((p) => p !== undefined) ? rendered.join(sep) : undefined;
  }
  return undefined;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** `arn:...:alarm:prefix-*` matched the way IAM's ArnLike does (`*` any run, `?` one character). */
function arnLike(pattern: string, arn: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(arn);
}

function allowsCloudWatch(statement: Json, action: RegExp): boolean {
  return (
    statement.Effect === 'Allow' &&
    list<string>(statement.Principal?.Service).includes('cloudwatch.amazonaws.com') &&
    list<string>(statement.Action).some((a) => action.test(a))
  );
}

describe('every topic an alarm notifies lets CloudWatch alarms publish (Knowledge Center cloudwatch-receive-sns-for-alarm-trigger)', () => {
  const cases = environments.map((env) => [env.stackName, env] as const);

  test.each(cases)('%s', (_name, env) => {
    const stack = { account: env.account, region: env.region };
    const resources: Record<string, Json> = synthesized(env.name).template.toJSON().Resources;
    const pseudo = { 'AWS::Partition': 'aws', 'AWS::Region': stack.region, 'AWS::AccountId': stack.account };
    const problems: string[] = [];
    let checked = 0;
    const alarms = Object.entries(resources).filter(([, r]) =>
      ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm'].includes(r.Type),
    );
    for (const [alarmId, alarm] of alarms) {
      const alarmArn = `arn:aws:cloudwatch:${stack.region}:${stack.account}:alarm:${alarm.Properties.AlarmName}`;
      const actions = [...list(alarm.Properties.AlarmActions), ...list(alarm.Properties.OKActions)];
      for (const action of actions) {
        const topicId = (action as Json)?.Ref;
        if (typeof topicId !== 'string' || resources[topicId]?.Type !== 'AWS::SNS::Topic') continue;
        checked++;
        const where = `${alarmId} → ${topicId}`;
        const statements = Object.values(resources)
          .filter(
            (r) =>
              r.Type === 'AWS::SNS::TopicPolicy' &&
              list<Json>(r.Properties.Topics).some((t) => t?.Ref === topicId),
          )
          .flatMap((r) => list<Json>(r.Properties.PolicyDocument.Statement));
        const allow = statements.filter((s) => allowsCloudWatch(s, /^sns:(Publish|\*)$/i));
        const scoped = allow.find((s) => {
          const account = s.Condition?.StringEquals?.['aws:SourceAccount'];
          const source = flatten(s.Condition?.ArnLike?.['aws:SourceArn'], pseudo);
          return account === stack.account && source !== undefined && arnLike(source, alarmArn);
        });
        if (!scoped) {
          problems.push(
            `${where}: no topic-policy Allow of sns:Publish for cloudwatch.amazonaws.com with aws:SourceAccount ` +
              `${stack.account} and an aws:SourceArn matching ${alarmArn}`,
          );
        }
        const keyRef = resources[topicId].Properties?.KmsMasterKeyId;
        if (keyRef === undefined) continue;
        const keyId = keyRef['Fn::GetAtt']?.[0] ?? keyRef.Ref;
        const key = resources[keyId];
        if (key?.Type !== 'AWS::KMS::Key') {
          problems.push(
            `${where}: encrypted with ${JSON.stringify(keyRef)}, not a key of this stack to check`,
          );
          continue;
        }
        const keyStatements = list<Json>(key.Properties.KeyPolicy.Statement);
        for (const needed of ['kms:Decrypt', 'kms:GenerateDataKey*']) {
          const exact = new RegExp(`^${needed.replace('*', '\\*')}$|^kms:\\*$`);
          if (!keyStatements.some((s) => allowsCloudWatch(s, exact))) {
            problems.push(`${where}: key ${keyId} does not let cloudwatch.amazonaws.com ${needed}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    // Both stacks route alarms to topics: a rule that found none has lost what it guards.
    expect(checked).toBeGreaterThan(0);
  });
});
