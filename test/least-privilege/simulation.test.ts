/**
 * Every request every actor of an environment makes, simulated against the synthesized templates
 * with @cloud-copilot/iam-simulate (identity policies, resource policies, condition keys): the
 * people's roles (each ops command, the runbook's by-hand stop), the project's functions (each call
 * of their handler on the resources their environment names), the ECS task and execution roles, and
 * the AWS services that deliver alarms and events (CloudWatch, EventBridge, RDS) with their source
 * context. Requests are derived from the code and the templates, so a new command, call, function,
 * alarm or topic is simulated without editing this file. docs/least-privilege.md explains the rules.
 */
import { OPS_COMMAND_ROLES, OPERATOR_ROLE_NAME, VIEWER_ROLE_NAME } from '../../lib/operator-access';
import { resolvePrincipals } from '../../environments/validate-access';
import { runbookNames } from '../../lib/names';
import { ENVIRONMENT_NAMES, synthesized, synthesizedRegistry } from '../helpers/app';
import {
  Case,
  commandRequests,
  environmentCases,
  foreignServiceRequests,
  projectFunctions,
  roleActor,
  serviceDeliveries,
  writeActionsOn,
} from './simulation/actors';
import { Actor, Request, simulateAll, unexpected } from './simulation/simulate';
import { Policies, World } from './simulation/world';

/** An account that is none of ours (AWS's own documentation example). */
const FOREIGN_ACCOUNT = '999999999999';

describe.each(ENVIRONMENT_NAMES)('%s: every request, simulated', (name) => {
  const { stack, template } = synthesized(name);
  const { stack: registryStack, template: registryTemplate } = synthesizedRegistry(name);
  const world = new World(template.toJSON(), stack);
  const registryWorld = new World(registryTemplate.toJSON(), registryStack);
  const policies = new Policies(world);
  const worlds = [policies, new Policies(registryWorld)];
  const { account, region } = stack.config;
  const roleNamed = (roleName: string) => world.ofType('AWS::IAM::Role').find((r) => r.name === roleName)!;
  const configSecret = world.named(world.outputs.ConfigSecretArn)!.arn!;
  const betfairSecret = world.named(world.outputs.BetfairSecretArn)!.arn!;

  const cases = new Map<string, Case>();
  const allowedTo = new Map<string, Request[]>(); // role ARN → its derived requests

  beforeAll(async () => {
    const built = await environmentCases(name, stack, world, policies);
    built.cases.forEach((c, k) => cases.set(k, c));
    built.allowedTo.forEach((r, k) => allowedTo.set(k, r));
  });

  /** Every role of the template, as an actor (CDK-internal roles too: they may not hold the secrets either). */
  const everyRole = (): Actor[] =>
    world
      .ofType('AWS::IAM::Role')
      .filter((r) => !(r.properties.ManagedPolicyArns as unknown[] | undefined)?.length)
      .map((r) => roleActor(policies, r, `${name} role ${r.name}`));

  test('derives requests for every actor: people, functions, task and execution roles', () => {
    expect([...cases.keys()].sort()).toEqual(
      expect.arrayContaining([
        'operator',
        'viewer',
        ...projectFunctions(stack, world).map((f) => `function ${f.fn.logicalId}`),
        ...world
          .ofType('AWS::ECS::TaskDefinition')
          .flatMap((td) => [`TaskRoleArn ${td.name}`, `ExecutionRoleArn ${td.name}`]),
      ]),
    );
    expect(
      projectFunctions(stack, world)
        .map((f) => f.folder)
        .sort(),
    ).toEqual(expect.arrayContaining(['db-migrate', 'emergency-stop', 'rollback']));
  });

  test('must-allow: every request of every actor is allowed', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const c of cases.values()) {
      const outcomes = await simulateAll(worlds, c.actor, c.allow);
      checked += outcomes.length;
      failures.push(...unexpected(outcomes, 'Allowed'));
    }
    expect(checked).toBeGreaterThan(50);
    expect(failures).toEqual([]);
  });

  test('ops rollback: the operator may invoke the planner and every service rollback function', async () => {
    const requests = await commandRequests(policies, name, 'rollback');
    const invoked = requests
      .filter((r) => r.action === 'lambda:InvokeFunction')
      .map((r) => r.resource.split(':').pop());
    expect(invoked.sort()).toEqual(
      [
        world.outputs.RollbackPlanFunctionName,
        world.outputs.RollbackBotFunctionName,
        world.outputs.RollbackMlServiceFunctionName,
      ].sort(),
    );
    expect(unexpected(await simulateAll(worlds, cases.get('operator')!.actor, requests), 'Allowed')).toEqual(
      [],
    );
    expect(OPS_COMMAND_ROLES.rollback).toBe('operator');
  });

  test('must-deny: the viewer changes nothing (no Put*, Update*, Invoke, Publish, Delete*)', async () => {
    const c = cases.get('viewer')!;
    expect(c.deny.length).toBeGreaterThan(20);
    expect(c.deny.map((r) => r.action)).toEqual(
      expect.arrayContaining([
        'secretsmanager:PutSecretValue',
        'ecs:UpdateService',
        'lambda:InvokeFunction',
        'sns:Publish',
        'secretsmanager:DeleteSecret',
      ]),
    );
    expect(unexpected(await simulateAll(worlds, c.actor, c.deny), 'Denied')).toEqual([]);
  });

  test('must-deny: every actor is refused its matrix (what its mode never calls, secrets it does not use)', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const c of cases.values()) {
      checked += c.deny.length;
      failures.push(...unexpected(await simulateAll(worlds, c.actor, c.deny), 'Denied'));
    }
    expect([...cases.values()].some((c) => c.deny.some((r) => r.from.includes('never calls')))).toBe(true);
    expect(checked).toBeGreaterThan(50);
    expect(failures).toEqual([]);
  });

  test('must-deny: only the emergency-stop function and the operator can write the trading-config secret', async () => {
    const writers = new Set(
      [...allowedTo]
        .filter(([, rs]) =>
          rs.some((r) => r.action === 'secretsmanager:PutSecretValue' && r.resource === configSecret),
        )
        .map(([arn]) => arn),
    );
    const emergencyStop = projectFunctions(stack, world).find((f) => f.folder === 'emergency-stop')!;
    expect([...writers].sort()).toEqual([emergencyStop.role.arn, roleNamed(OPERATOR_ROLE_NAME).arn].sort());
    const others = everyRole().filter((a) => !writers.has(a.principal));
    expect(others.length).toBeGreaterThan(5);
    const failures: string[] = [];
    for (const actor of others)
      for (const action of ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecret'])
        failures.push(
          ...unexpected(
            await simulateAll(worlds, actor, [{ action, resource: configSecret, from: 'must-deny' }]),
            'Denied',
          ),
        );
    expect(failures).toEqual([]);
  });

  test('must-deny: every secret is readable only by the actors whose code or task reads it', async () => {
    const failures: string[] = [];
    let checked = 0;
    const secrets = world.ofType('AWS::SecretsManager::Secret').map((s) => s.arn!);
    for (const actor of everyRole()) {
      const reads = new Set(
        (allowedTo.get(actor.principal) ?? [])
          .filter((r) => r.action === 'secretsmanager:GetSecretValue')
          .map((r) => r.resource),
      );
      const requests = secrets
        .filter((s) => !reads.has(s))
        .map((resource) => ({ action: 'secretsmanager:GetSecretValue', resource, from: 'must-deny' }));
      checked += requests.length;
      failures.push(...unexpected(await simulateAll(worlds, actor, requests), 'Denied'));
    }
    expect(checked).toBeGreaterThan(20);
    expect(failures).toEqual([]);
  });

  test('must-deny: no task role reads the Betfair secret; of the task roles only the bot execution role does', async () => {
    const taskRoles = world
      .ofType('AWS::IAM::Role')
      .filter((r) =>
        JSON.stringify(r.properties.AssumeRolePolicyDocument).includes('ecs-tasks.amazonaws.com'),
      );
    const readers = taskRoles.filter((r) =>
      (allowedTo.get(r.arn!) ?? []).some((q) => q.resource === betfairSecret),
    );
    const bot = world
      .ofType('AWS::ECS::TaskDefinition')
      .find((t) => t.name === runbookNames(name).botFamily)!;
    expect(readers.map((r) => r.arn)).toEqual([bot.properties.ExecutionRoleArn]);
    const failures: string[] = [];
    for (const r of taskRoles.filter((t) => t.arn !== bot.properties.ExecutionRoleArn))
      failures.push(
        ...unexpected(
          await simulateAll(worlds, roleActor(policies, r, `${name} ${r.name}`), [
            { action: 'secretsmanager:GetSecretValue', resource: betfairSecret, from: 'must-deny' },
          ]),
          'Denied',
        ),
      );
    expect(failures).toEqual([]);
  });

  test('must-deny: every task and execution role is refused every write other actors may do that its task does not need', async () => {
    const failures: string[] = [];
    for (const td of world.ofType('AWS::ECS::TaskDefinition'))
      for (const kind of ['TaskRoleArn', 'ExecutionRoleArn']) {
        const c = cases.get(`${kind} ${td.name}`)!;
        const writes = c.deny.filter((r) => r.from.startsWith("another actor's write"));
        expect(c.deny.map((r) => r.action)).toEqual(
          expect.arrayContaining([
            'lambda:InvokeFunction',
            'sns:Publish',
            'ecs:UpdateService',
            'secretsmanager:PutSecretValue',
          ]),
        );
        failures.push(...unexpected(await simulateAll(worlds, c.actor, writes), 'Denied'));
      }
    expect(failures).toEqual([]);
  });

  test('must-deny: the ML task and execution roles cannot touch the bot service', async () => {
    const bot = world.ofType('AWS::ECS::Service').find((s) => s.name === 'bot')!;
    const ml = world.ofType('AWS::ECS::TaskDefinition').find((t) => t.name === runbookNames(name).mlFamily)!;
    const writes = await writeActionsOn(world, bot.arn!);
    expect(writes.map((w) => w.action)).toEqual(
      expect.arrayContaining(['ecs:UpdateService', 'ecs:DeleteService']),
    );
    for (const kind of ['TaskRoleArn', 'ExecutionRoleArn']) {
      const actor = roleActor(policies, world.named(ml.properties[kind] as string)!, `${name} ml ${kind}`);
      expect(unexpected(await simulateAll(worlds, actor, writes), 'Denied')).toEqual([]);
    }
  });

  test('must-deny: a principal of another account is refused every request, even with every right of its own', async () => {
    const intruder: Actor = {
      name: `role of account ${FOREIGN_ACCOUNT}`,
      principal: `arn:aws:iam::${FOREIGN_ACCOUNT}:role/intruder`,
      identityPolicies: [
        {
          name: 'admin',
          policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
        },
      ],
    };
    const requests = [...cases.values()].flatMap((c) => c.allow).filter((r) => r.resource !== '*');
    const unique = [...new Map(requests.map((r) => [`${r.action} ${r.resource}`, r])).values()];
    expect(unique.length).toBeGreaterThan(20);
    expect(unexpected(await simulateAll(worlds, intruder, unique), 'Denied')).toEqual([]);
  });

  describe('AWS services deliver alarms and events (source ARN and account in the context)', () => {
    const deliveries = () => serviceDeliveries(policies);

    test('every delivery is allowed, topic and key', async () => {
      const all = deliveries();
      expect(all.filter((d) => d.request.action === 'sns:Publish').length).toBeGreaterThan(10);
      expect(new Set(all.map((d) => d.actor.principal))).toEqual(
        new Set([
          'cloudwatch.amazonaws.com',
          'lambda.alarms.cloudwatch.amazonaws.com',
          'events.amazonaws.com',
          'events.rds.amazonaws.com',
        ]),
      );
      const failures: string[] = [];
      for (const d of all)
        failures.push(...unexpected(await simulateAll(worlds, d.actor, [d.request]), 'Allowed'));
      expect(failures).toEqual([]);
    });

    test('the same delivery from another account is refused', async () => {
      const failures: string[] = [];
      const all = deliveries();
      for (const d of all) {
        const foreign = JSON.parse(
          JSON.stringify(d.request)
            .replaceAll(account, FOREIGN_ACCOUNT)
            .replaceAll(`"${FOREIGN_ACCOUNT}`, `"${FOREIGN_ACCOUNT}`),
        ) as Request;
        const request = {
          ...d.request,
          context: foreign.context,
          from: `${d.request.from} (from account ${FOREIGN_ACCOUNT})`,
        };
        failures.push(...unexpected(await simulateAll(worlds, d.actor, [request]), 'Denied'));
      }
      expect(all.length).toBeGreaterThan(10);
      expect(failures).toEqual([]);
    });

    test('every service principal of every key, topic, secret and function policy is refused on behalf of another account', async () => {
      const requests = [
        ...(await foreignServiceRequests(policies, FOREIGN_ACCOUNT)),
        ...(await foreignServiceRequests(worlds[1], FOREIGN_ACCOUNT)),
      ];
      expect([...new Set(requests.map((r) => r.actor.principal))]).toEqual(
        expect.arrayContaining(['cloudwatch.amazonaws.com', `logs.${region}.amazonaws.com`]),
      );
      const failures: string[] = [];
      for (const { actor, request } of requests)
        failures.push(...unexpected(await simulateAll(worlds, actor, [request]), 'Denied'));
      expect(failures).toEqual([]);
    });

    test('a service delivering for another environment of the same account is refused (alarm names outside the prefix)', async () => {
      const topic = world.outputs.TicketTopicArn;
      const other = `arn:aws:cloudwatch:${region}:${account}:alarm:someone-elses-alarm`;
      const outcome = await simulateAll(
        worlds,
        { name: 'cloudwatch.amazonaws.com', principal: 'cloudwatch.amazonaws.com', identityPolicies: [] },
        [
          {
            action: 'sns:Publish',
            resource: topic,
            context: { 'aws:SourceArn': other, 'aws:SourceAccount': account },
            from: 'another alarm',
          },
        ],
      );
      expect(unexpected(outcome, 'Denied')).toEqual([]);
    });
  });

  describe("people's trust: the configured principals, MFA for the operator, nobody else", () => {
    const trustCases = (role: 'operator' | 'viewer') => {
      const { access } = stack.config;
      const roleArn = roleNamed(role === 'operator' ? OPERATOR_ROLE_NAME : VIEWER_ROLE_NAME).arn!;
      const list = role === 'operator' ? access.operatorPrincipals : access.viewerPrincipals;
      const assume = (context: Record<string, string>, from: string): Request => ({
        action: 'sts:AssumeRole',
        resource: roleArn,
        context,
        from,
      });
      /** A caller: the principal itself, or for an account root one of that account's roles (its IAM allows it). */
      const caller = (arn: string, label: string): Actor => ({
        name: label,
        principal: arn.endsWith(':root') ? arn.replace(':root', ':role/someone-of-the-account') : arn,
        identityPolicies: [
          {
            name: 'may-assume',
            policy: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
            },
          },
        ],
      });
      return { roleArn, principals: resolvePrincipals(stack.config, list), assume, caller };
    };

    test.each(['operator', 'viewer'] as const)(
      'the %s role: each configured principal may assume it',
      async (role) => {
        const { principals, assume, caller } = trustCases(role);
        expect(principals.length).toBeGreaterThan(0);
        for (const p of principals) {
          const outcomes = await simulateAll(worlds, caller(p.arn, `${name} ${p.arn}`), [
            assume(p.ssoSession ? {} : { 'aws:MultiFactorAuthPresent': 'true' }, `access.${role}Principals`),
          ]);
          expect(unexpected(outcomes, 'Allowed')).toEqual([]);
        }
      },
    );

    test('the operator role refuses a session without MFA unless it comes from IAM Identity Center', async () => {
      const { principals, assume, caller } = trustCases('operator');
      const failures: string[] = [];
      for (const p of principals) {
        // An Identity Center role's sessions carry no MFA key; a role outside Identity Center is refused instead.
        const who = p.ssoSession ? p.arn.replace(/:role\/.*/, ':role/not-identity-center') : p.arn;
        for (const mfa of [{ 'aws:MultiFactorAuthPresent': 'false' }, {}] as Record<string, string>[])
          failures.push(
            ...unexpected(
              await simulateAll(worlds, caller(who, `${name} ${who}`), [assume(mfa, 'no MFA')]),
              'Denied',
            ),
          );
      }
      expect(principals.length).toBeGreaterThan(0);
      expect(failures).toEqual([]);
    });

    test.each(['operator', 'viewer'] as const)(
      'the %s role refuses principals of another account',
      async (role) => {
        const { principals, assume, caller } = trustCases(role);
        const failures: string[] = [];
        for (const p of principals) {
          const foreign = p.arn.replace(/::\d{12}:/, `::${FOREIGN_ACCOUNT}:`);
          failures.push(
            ...unexpected(
              await simulateAll(worlds, caller(foreign, foreign), [
                assume({ 'aws:MultiFactorAuthPresent': 'true' }, 'foreign'),
              ]),
              'Denied',
            ),
          );
        }
        expect(failures).toEqual([]);
      },
    );
  });

  test('every actor has at least one allowed and one denied request checked', () => {
    const vacuous: string[] = [];
    for (const [key, c] of cases) {
      // The ML task role makes no AWS call at all: it must have no rights (checked below), nothing to allow.
      const mlTaskRole = key.startsWith('TaskRoleArn') && c.allow.length === 0;
      if (!mlTaskRole && c.allow.length === 0) vacuous.push(`${key}: nothing allowed`);
      if (c.deny.length === 0) vacuous.push(`${key}: nothing denied`);
    }
    expect(vacuous).toEqual([]);
  });

  test('a task role whose task makes no AWS call has no rights at all', () => {
    for (const td of world.ofType('AWS::ECS::TaskDefinition')) {
      const key = `TaskRoleArn ${td.name}`;
      if (cases.get(key)!.allow.length > 0) continue;
      const role = world.named(td.properties.TaskRoleArn as string)!;
      expect({ role: role.logicalId, policies: policies.identityPolicies(role.arn!) }).toEqual({
        role: role.logicalId,
        policies: [],
      });
    }
  });
});
