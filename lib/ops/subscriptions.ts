import { ListSubscriptionsByTopicCommand, SNSClient, Subscription } from '@aws-sdk/client-sns';

/** One alarm topic's subscriptions, judged: does it reach someone now? */
export interface TopicSubscriptions {
  /** The stack output naming the topic, e.g. `PageTopicArn`. */
  readonly output: string;
  readonly topicArn: string;
  /** `protocol endpoint` of each confirmed subscription. */
  readonly confirmed: readonly string[];
  /** `protocol endpoint` of each subscription still waiting for its confirmation. */
  readonly pending: readonly string[];
}

/** What is wrong with a topic, or undefined: no subscriber at all, or one not yet confirmed. */
export function subscriptionProblem(t: TopicSubscriptions): string | undefined {
  if (t.pending.length > 0) return `${t.output}: ${t.pending.join(', ')} pending confirmation`;
  if (t.confirmed.length === 0) return `${t.output}: no subscriber`;
  return undefined;
}

const label = (s: Subscription) => `${s.Protocol ?? '?'} ${s.Endpoint ?? '?'}`;

/**
 * The subscriptions of every topic the stack outputs (outputs ending in `TopicArn`: the page,
 * ticket and OK topics). SNS lists a subscription that awaits its confirmation with the
 * SubscriptionArn `PendingConfirmation`; it delivers nothing until then, whatever the protocol.
 */
export async function readTopicSubscriptions(
  outputs: Readonly<Record<string, string>>,
  sns: SNSClient,
): Promise<TopicSubscriptions[]> {
  const topics = Object.entries(outputs).filter(([key, value]) => key.endsWith('TopicArn') && value);
  return Promise.all(
    topics.map(async ([output, topicArn]) => {
      const subs: Subscription[] = [];
      let NextToken: string | undefined;
      do {
        const page = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken }));
        subs.push(...(page.Subscriptions ?? []));
        NextToken = page.NextToken;
      } while (NextToken);
      const isConfirmed = (s: Subscription) => !!s.SubscriptionArn?.startsWith('arn:');
      return {
        output,
        topicArn,
        confirmed: subs.filter(isConfirmed).map(label),
        pending: subs.filter((s) => !isConfirmed(s)).map(label),
      };
    }),
  );
}
