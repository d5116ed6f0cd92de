/**
 * The matrices catch a break: the production template with one right removed or added, run through
 * the same derivation and simulation as simulation.test.ts, fails the way the issue asks for, naming
 * the actor, the request and the statement. (Breaking the source the same way fails
 * simulation.test.ts; these keep that proof from silently going vacuous.)
 */
import { production } from '../../environments';
import { registryStackName } from '../../lib/stack-names';
import { buildApp, synthesized, synthesizedRegistry } from '../helpers/app';
import { environmentCases, foreignServiceRequests, serviceDeliveries } from './simulation/actors';
import { simulateAll, unexpected } from './simulation/simulate';
import { Policies, PolicyDocument, World } from './simulation/world';

type Template = {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, { Value: { Ref?: string } }>;
};

// Each break derives and simulates the whole production matrix again (simulate.ts answers the
// requests a break leaves as they were from its cache).
jest.setTimeout(120_000);

const { template } = synthesized('production');
const registry = synthesizedRegistry('production');
// The production stack's construct tree alone (the matrices read its functions): the whole app's
// would build staging's and the registries' too, for nothing.
const [stack] = buildApp([production]).stacks;

/** The matrices' failures for a changed copy of the production template. */
async function failures(
  change: (t: Template) => void,
): Promise<{ allow: string[]; deny: string[]; deliveries: string[]; foreign: string[] }> {
  const copy = JSON.parse(JSON.stringify(template.toJSON())) as Template;
  change(copy);
  const world = new World(copy, stack);
  const policies = new Policies(world);
  const registryWorld = new World(registry.template.toJSON(), {
    ...production,
    stackName: registryStackName(production),
  });
  const worlds = [policies, new Policies(registryWorld)];
  const { cases } = await environmentCases('production', stack, world, policies);
  const allow: string[] = [];
  const deny: string[] = [];
  for (const c of cases.values()) {
    allow.push(...unexpected(await simulateAll(worlds, c.actor, c.allow), 'Allowed'));
    deny.push(...unexpected(await simulateAll(worlds, c.actor, c.deny), 'Denied'));
  }
  const deliveries: string[] = [];
  for (const d of serviceDeliveries(policies))
    deliveries.push(...unexpected(await simulateAll(worlds, d.actor, [d.request]), 'Allowed'));
  const foreign: string[] = [];
  for (const d of await foreignServiceRequests(policies, '999999999999'))
    foreign.push(...unexpected(await simulateAll(worlds, d.actor, [d.request]), 'Denied'));
  return { allow, deny, deliveries, foreign };
}

const statementsOf = (t: Template, type: string) =>
  Object.values(t.Resources)
    .filter((r) => r.Type === type)
    .flatMap((r) => {
      const docs = [
        r.Properties.PolicyDocument,
        ...((r.Properties.Policies as { PolicyDocument: PolicyDocument }[] | undefined) ?? []).map(
          (p) => p.PolicyDocument,
        ),
      ].filter(Boolean) as PolicyDocument[];
      return docs;
    });

test("break 1: the planner removed from the operator's list fails must-allow for ops rollback", async () => {
  const result = await failures((t) => {
    const planner = t.Outputs.RollbackPlanFunctionName.Value.Ref!;
    const operator = Object.values(t.Resources).find(
      (r) => r.Properties.RoleName === 'clever-better-operator',
    )!;
    for (const doc of statementsOf({ ...t, Resources: { operator } } as Template, 'AWS::IAM::Role'))
      for (const s of doc.Statement)
        if (Array.isArray(s.Resource))
          s.Resource = s.Resource.filter(
            (r) => JSON.stringify(r) !== JSON.stringify({ 'Fn::GetAtt': [planner, 'Arn'] }),
          );
  });
  expect(result.allow).toEqual([
    expect.stringMatching(
      /^production operator: lambda:InvokeFunction on arn:aws:lambda:.*RollbackPlanFunction.* \(from ops rollback .*RollbackPlanFunctionName.*was ImplicitlyDenied: no statement of the identity policy allows it$/,
    ),
  ]);
});

test("break 2: the topic policies' CloudWatch statement dropped fails every alarm's delivery", async () => {
  const result = await failures((t) => {
    for (const doc of statementsOf(t, 'AWS::SNS::TopicPolicy'))
      doc.Statement = doc.Statement.filter(
        (s) => JSON.stringify(s.Principal) !== JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }),
      );
  });
  expect(result.deliveries.length).toBeGreaterThan(10);
  expect(
    result.deliveries.every((f) =>
      /^cloudwatch\.amazonaws\.com: sns:Publish on .* was ImplicitlyDenied: .*no statement of the resource policy allows it$/.test(
        f,
      ),
    ),
  ).toBe(true);
});

test('break 3: PutSecretValue on the config secret added to the ml task role fails must-deny', async () => {
  const result = await failures((t) => {
    const ml = Object.entries(t.Resources).find(
      ([, r]) => r.Type === 'AWS::ECS::TaskDefinition' && r.Properties.Family === 'clever-better-ml',
    )![1];
    t.Resources.BreakMlWritesConfig = {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'break',
        Roles: [{ Ref: (ml.Properties.TaskRoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'secretsmanager:PutSecretValue',
              Resource: { Ref: Object.keys(t.Resources).find((k) => k.startsWith('SecretsConfig')) },
            },
          ],
        },
      },
    };
  });
  expect(result.deny).toEqual([
    expect.stringMatching(
      /^production clever-better-ml TaskRoleArn: secretsmanager:PutSecretValue on .*clever-better\/production\/config.* was Allowed: allowed by identity policy BreakMlWritesConfig statement #1$/,
    ),
  ]);
});

test('break 4: lambda:InvokeFunction and sns:Publish on * added to the bot task role fail must-deny', async () => {
  const result = await failures((t) => {
    const bot = Object.entries(t.Resources).find(
      ([, r]) => r.Type === 'AWS::ECS::TaskDefinition' && r.Properties.Family === 'clever-better-bot',
    )![1];
    t.Resources.BreakBotInvokesAndPublishes = {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'break',
        Roles: [{ Ref: (bot.Properties.TaskRoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['lambda:InvokeFunction', 'sns:Publish'], Resource: '*' }],
        },
      },
    };
  });
  const actions = new Set(result.deny.map((d) => / TaskRoleArn: ([\w:]+) on /.exec(d)?.[1]));
  expect([...actions].sort()).toEqual(['lambda:InvokeFunction', 'sns:Publish']);
  expect(result.deny.every((d) => d.startsWith('production clever-better-bot TaskRoleArn: '))).toBe(true);
});

test('break 5: sns.amazonaws.com allowed kms:Decrypt and GenerateDataKey* on the key, unconditioned, fails', async () => {
  const result = await failures((t) => {
    const key = Object.values(t.Resources).find((r) => r.Type === 'AWS::KMS::Key')!;
    (key.Properties.KeyPolicy as PolicyDocument).Statement.push({
      Effect: 'Allow',
      Principal: { Service: 'sns.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
    });
  });
  expect(result.foreign.length).toBeGreaterThan(0);
  expect(result.foreign.every((f) => f.startsWith('sns.amazonaws.com: kms:'))).toBe(true);
  expect(result.foreign).toEqual(
    expect.arrayContaining([expect.stringMatching(/^sns\.amazonaws\.com: kms:Decrypt on .* was Allowed/)]),
  );
});
