import { asList, CfnResource, jsonEqual, referencedIds, renderValue } from './template';

// Where alarms go: which SNS topics page a person and which only open a ticket, read from the
// template's own subscriptions (lib/alerting.ts builds them), so a new topic is ranked the same way.

/** How urgently a route reaches a person: a page wakes someone, a ticket waits, none reaches nobody. */
export type Urgency = 'page' | 'ticket' | 'none';

const RANK: Readonly<Record<Urgency, number>> = { none: 0, ticket: 1, page: 2 };

/** Protocols a pager integration uses (an e-mail alone is a ticket inbox). */
const PAGER_PROTOCOLS = new Set(['https', 'http', 'sms', 'lambda']);

/** Whether a subscription endpoint is a pager (an HTTP(S) integration, SMS or a function that pages). */
function isPagerSubscription(r: CfnResource): boolean {
  return PAGER_PROTOCOLS.has(String(r.Properties?.Protocol ?? '').toLowerCase());
}

/**
 * The urgency of every SNS topic of a template: `page` when a subscription reaches a pager, or when
 * its display name or logical id says it pages (an environment whose pager is not set up yet);
 * `ticket` otherwise.
 */
export function topicUrgency(resources: Record<string, CfnResource>): Map<string, Urgency> {
  const out = new Map<string, Urgency>();
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::SNS::Topic') continue;
    const inline = asList(r.Properties?.Subscription).some((s) =>
      PAGER_PROTOCOLS.has(String((s as Record<string, unknown>).Protocol ?? '').toLowerCase()),
    );
    const named = /\bpages?\b|on-?call/i.test(`${String(r.Properties?.DisplayName ?? '')} ${id}`);
    out.set(id, inline || named ? 'page' : 'ticket');
  }
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::SNS::Subscription' || !isPagerSubscription(r)) continue;
    for (const topic of referencedIds(r.Properties?.TopicArn)) if (out.has(topic)) out.set(topic, 'page');
  }
  return out;
}

/** The most urgent route of an alarm action list (`none` when it reaches no topic). */
export function urgencyOf(actions: unknown, topics: ReadonlyMap<string, Urgency>): Urgency {
  let best: Urgency = 'none';
  for (const id of referencedIds(actions)) {
    const u = topics.get(id);
    if (u && RANK[u] > RANK[best]) best = u;
  }
  return best;
}

/** Whether urgency `a` is more urgent than `b`. */
export const moreUrgent = (a: Urgency, b: Urgency) => RANK[a] > RANK[b];

/** Whether an alarm's actions are enabled (CloudFormation's default is true). */
export const actionsEnabled = (r: CfnResource | undefined) => r?.Properties?.ActionsEnabled !== false;

/** Where an alarm's ALARM notifications go: none when its actions are disabled. */
export function alarmUrgency(r: CfnResource | undefined, topics: ReadonlyMap<string, Urgency>): Urgency {
  return actionsEnabled(r) ? urgencyOf(r?.Properties?.AlarmActions, topics) : 'none';
}

/** Whether an alarm's OK notifications reach a pager (which closes the page). */
export function okReachesPager(r: CfnResource | undefined, topics: ReadonlyMap<string, Urgency>): boolean {
  return actionsEnabled(r) && urgencyOf(r?.Properties?.OKActions, topics) === 'page';
}

/** One subscription as a comparable key: topic, protocol and endpoint. */
export interface SubscriptionKey {
  readonly topic: string;
  readonly protocol: string;
  readonly endpoint: string;
}

/** Every subscription of a template, standalone or inline on its topic. */
export function subscriptionsOf(resources: Record<string, CfnResource>): SubscriptionKey[] {
  const out: SubscriptionKey[] = [];
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type === 'AWS::SNS::Subscription') {
      out.push({
        topic: [...referencedIds(r.Properties?.TopicArn)][0] ?? renderValue(r.Properties?.TopicArn),
        protocol: String(r.Properties?.Protocol ?? ''),
        endpoint: renderValue(r.Properties?.Endpoint),
      });
    }
    if (r.Type === 'AWS::SNS::Topic') {
      for (const s of asList(r.Properties?.Subscription) as Record<string, unknown>[]) {
        out.push({ topic: id, protocol: String(s.Protocol ?? ''), endpoint: renderValue(s.Endpoint) });
      }
    }
  }
  return out;
}

/** Subscriptions of `a` that `b` does not have. */
export function missingSubscriptions(
  a: readonly SubscriptionKey[],
  b: readonly SubscriptionKey[],
): SubscriptionKey[] {
  return a.filter((s) => !b.some((t) => jsonEqual(s, t)));
}
