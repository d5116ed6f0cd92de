import { alarmsInvoking, identifySubjects, SubjectNames } from './subjects';
import { physicalName } from './physical-names';
import { code, nameOf, subject } from './rule-text';
import { brief, CfnResource, CfnTemplate, jsonEqual, referencedIds, refersToAny } from './template';
import { Finding, FindingDraft, FindingProvider, RuleContext } from './types';

// Rules about what keeps live trading safe: the secrets, the emergency stop, one bot at a time,
// the live-trading flag, and what the services run.

// ---------------------------------------------------------------------------------------------
// Secrets

/** Keys of two objects whose values differ, with from → to when short. */
function changedKeys(a: unknown, b: unknown): string[] {
  const [oa, ob] = [(a ?? {}) as Record<string, unknown>, (b ?? {}) as Record<string, unknown>];
  return [...new Set([...Object.keys(oa), ...Object.keys(ob)])]
    .filter((k) => !jsonEqual(oa[k], ob[k]))
    .map((k) => `${k} ${brief(oa[k] ?? '(none)', 60)} → ${brief(ob[k] ?? '(none)', 60)}`);
}

export function secretRegenerated(ctx: RuleContext): FindingDraft[] {
  const out: FindingDraft[] = [];
  for (const [id, after] of Object.entries(ctx.newRes)) {
    const before = ctx.oldRes[id];
    if (after.Type !== 'AWS::SecretsManager::Secret' || before?.Type !== after.Type) continue;
    const [g0, g1] = [before.Properties?.GenerateSecretString, after.Properties?.GenerateSecretString];
    if (jsonEqual(g0, g1) || (g0 === undefined && g1 === undefined)) continue;
    const what =
      g0 && g1
        ? `GenerateSecretString changes (${changedKeys(g0, g1).join('; ')})`
        : g1
          ? 'GenerateSecretString is added'
          : 'GenerateSecretString is removed';
    const name = physicalName(after) ?? id;
    const attached = Object.values(ctx.newRes).some(
      (r) =>
        r.Type === 'AWS::SecretsManager::SecretTargetAttachment' &&
        refersToAny(r.Properties?.SecretId, new Set([id])),
    );
    const consequence = /betfair/i.test(name)
      ? 'the Betfair credentials set by hand are overwritten: the emergency stop’s cancel-all fails at once and the bot at its next start'
      : attached
        ? 'the user and password in the secret change but not in the database: every service loses the database'
        : 'the value set by hand or generated before is overwritten';
    out.push({
      resources: [id],
      message: `Secret ${subject(ctx, id)} would be **regenerated**: ${what}. CloudFormation generates a new value, so ${consequence}.`,
      headline: `secret ${code(name)} would be regenerated`,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Emergency stop

function stopFunctions(resources: Record<string, CfnResource>, template: CfnTemplate, names: SubjectNames) {
  const parts = identifySubjects(template, names).emergencyStop;
  return new Set(
    [...parts]
      .filter(([id, part]) => part === 'function' || resources[id]?.Type.startsWith('AWS::Lambda::'))
      .map(([id]) => id),
  );
}

export function emergencyStopDisconnected(ctx: RuleContext): FindingDraft[] {
  const out: FindingDraft[] = [];
  const oldFns = stopFunctions(ctx.oldRes, ctx.before, ctx.names);
  const newFns = stopFunctions(ctx.newRes, ctx.after, ctx.names);
  const oldTriggers = alarmsInvoking(ctx.oldRes, oldFns);
  const newTriggers = alarmsInvoking(ctx.newRes, newFns);
  const enabled = (r: CfnResource | undefined) => r?.Properties?.ActionsEnabled !== false;
  const newByName = new Map([...newTriggers].map((id) => [physicalName(ctx.newRes[id]) ?? id, id] as const));
  for (const id of [...oldTriggers].sort()) {
    const name = physicalName(ctx.oldRes[id]) ?? id;
    // A renamed construct keeps the alarm name: still a trigger if the new one invokes and is enabled.
    const now = newTriggers.has(id) ? id : newByName.get(name);
    let what: string | undefined;
    if (!ctx.newRes[id] && now === undefined) what = 'the trigger alarm is deleted';
    else if (now === undefined) what = 'the alarm no longer invokes the emergency-stop function';
    else if (!enabled(ctx.newRes[now]) && enabled(ctx.oldRes[id]))
      what = 'its actions are disabled (`ActionsEnabled: false`), so it no longer invokes the emergency stop';
    if (!what) continue;
    out.push({
      resources: [id],
      // Its actions are this finding's; its thresholds and periods are still the protections'.
      properties: ['AlarmActions', 'ActionsEnabled'],
      message: `Emergency stop **disconnected** from ${code(name)}: ${what}. The condition it guards then only pages; nothing stops trading.`,
      headline: `emergency stop disconnected from ${code(name)}`,
    });
  }
  // The function itself, or the permission that lets CloudWatch alarms invoke it.
  for (const id of oldFns) {
    const r = ctx.oldRes[id];
    if (r.Type === 'AWS::Lambda::Function' && !ctx.newRes[id] && newFns.size === 0) {
      out.push({
        resources: [id],
        message: `Emergency-stop function ${subject(ctx, id)} is **removed**: no alarm and no operator can stop trading with it.`,
        headline: 'emergency-stop function removed',
      });
    }
  }
  const alarmPermission = (res: Record<string, CfnResource>, fns: ReadonlySet<string>) =>
    Object.entries(res)
      .filter(
        ([, r]) =>
          r.Type === 'AWS::Lambda::Permission' &&
          String(r.Properties?.Principal ?? '') === 'lambda.alarms.cloudwatch.amazonaws.com' &&
          refersToAny(r.Properties?.FunctionName, fns),
      )
      .map(([id]) => id);
  const before = alarmPermission(ctx.oldRes, oldFns);
  if (before.length > 0 && newTriggers.size > 0 && alarmPermission(ctx.newRes, newFns).length === 0) {
    out.push({
      resources: before,
      message:
        'The permission that lets CloudWatch alarms invoke the emergency stop (`lambda.alarms.cloudwatch.amazonaws.com`) is **removed**: its trigger alarms fire but cannot invoke it.',
      headline: 'emergency stop can no longer be invoked by its alarms',
    });
  }
  return out;
}

export function emergencyStopWeakened(ctx: RuleContext): FindingDraft[] {
  return ctx.emergencyStop
    .filter((e) => e.part === 'role' && e.details.some((d) => d.startsWith('loses: ')))
    .map((e) => ({
      resources: [e.logicalId],
      message: `Emergency-stop role ${subject(ctx, e.logicalId)} ${e.details.filter((d) => d.startsWith('loses: ')).join('; ')}: a step of the stop may fail with AccessDenied.`,
      headline: 'the emergency-stop role loses a permission',
    }));
}

export function emergencyStopChanged(ctx: RuleContext): FindingDraft[] {
  return ctx.emergencyStop
    .filter((e) => !ctx.claimed.has(e.logicalId))
    .map((e) => {
      const details = e.details.length ? `: ${e.details.join('; ')}` : '';
      return {
        resources: [e.logicalId],
        message: `Emergency stop ${e.part} ${subject(ctx, e.logicalId)} ${e.change}${details}`,
        headline: `emergency stop ${e.part} ${e.change}`,
      };
    });
}

// ---------------------------------------------------------------------------------------------
// The bot: one at a time, its count owned by the operators

const BOT_SERVICE_TYPES = new Set(['AWS::ECS::Service']);

function deploymentShape(r: CfnResource | undefined) {
  const dc = (r?.Properties?.DeploymentConfiguration ?? {}) as Record<string, unknown>;
  const controller = (r?.Properties?.DeploymentController as Record<string, unknown> | undefined)?.Type;
  // ECS defaults for a REPLICA service without a deployment configuration: 200 / 100.
  return {
    max: Number(dc.MaximumPercent ?? 200),
    min: Number(dc.MinimumHealthyPercent ?? 100),
    controller: typeof controller === 'string' ? controller : 'ECS',
  };
}

export function botNotStopFirst(ctx: RuleContext): FindingDraft[] {
  const [oldIds, newIds] = [
    identifySubjects(ctx.before, ctx.names).botServices,
    identifySubjects(ctx.after, ctx.names).botServices,
  ];
  const out: FindingDraft[] = [];
  for (const id of newIds) {
    if (!BOT_SERVICE_TYPES.has(ctx.newRes[id].Type)) continue;
    const now = deploymentShape(ctx.newRes[id]);
    const stopFirst = now.max <= 100 && now.min === 0 && now.controller === 'ECS';
    if (stopFirst) continue;
    const oldId = oldIds.has(id) ? id : [...oldIds][0];
    if (oldId && jsonEqual(deploymentShape(ctx.oldRes[oldId]), now)) continue;
    const overlap = now.max > 100 || now.controller !== 'ECS';
    out.push({
      resources: [id],
      message:
        `Bot service ${subject(ctx, id)} is no longer deployed stop-first: ` +
        `minimum ${now.min}% / maximum ${now.max}%${now.controller !== 'ECS' ? `, controller ${now.controller}` : ''}. ` +
        (overlap
          ? 'A deploy starts the new bot before the old one stops: **two bots trading at once**.'
          : 'A deploy cannot stop the running bot first, so it waits for a task it will never get.') +
        ' It must be minimum 0% / maximum 100% with the ECS controller.',
      headline: overlap
        ? 'the bot would deploy with two bots trading at once'
        : 'the bot would no longer deploy stop-first',
    });
  }
  return out;
}

export function botDesiredCount(ctx: RuleContext): FindingDraft[] {
  return ctx.counts
    .filter((c) => c.service === 'bot' && c.property === 'DesiredCount' && c.to !== undefined)
    .map((c) => ({
      resources: [c.logicalId],
      message: `Bot service ${subject(ctx, c.logicalId)} gains \`DesiredCount: ${JSON.stringify(c.to)}\`: CloudFormation then sets the running count on every deploy, restarting a bot the emergency stop scaled to zero.`,
      headline: 'the bot service would get a DesiredCount (undoes an emergency stop)',
    }));
}

export function mlDesiredCount(ctx: RuleContext): FindingDraft[] {
  return ctx.counts
    .filter((c) => c.service === 'ml-service' && c.property === 'DesiredCount' && c.to !== undefined)
    .map((c) => ({
      resources: [c.logicalId],
      message: `ML service ${subject(ctx, c.logicalId)} gains \`DesiredCount: ${JSON.stringify(c.to)}\`: autoscaling owns the count, and each deploy would reset it.`,
      headline: 'the ML service would get a DesiredCount',
    }));
}

export function scalingChanged(ctx: RuleContext): FindingDraft[] {
  return ctx.counts
    .filter((c) => c.property !== 'DesiredCount')
    .map((c) => ({
      resources: [c.logicalId],
      message: `${c.service} ${c.property}: ${brief(c.from)} → ${brief(c.to)}`,
      headline: `${c.service} ${c.property} ${brief(c.from)} → ${brief(c.to)}`,
    }));
}

// ---------------------------------------------------------------------------------------------
// Images, task definitions, live trading

/**
 * What replacing the one bot task costs, from the head template: with stop-first (minimum 0 %,
 * maximum 100 %) ECS drains the old task from its target group (deregistration delay), stops it
 * (the container's StopTimeout, ECS default 30 s), then starts the new one and waits for its health
 * checks (interval × healthy threshold); image pull and start come on top.
 */
export function botRestartNote(ctx: RuleContext): string {
  const services = [...identifySubjects(ctx.after, ctx.names).botServices].map((id) => ctx.newRes[id]);
  const service = services[0];
  const groups = referencedIdsOf(service?.Properties?.LoadBalancers)
    .map((id) => ctx.newRes[id])
    .filter(Boolean);
  const attr = (g: CfnResource | undefined, key: string) =>
    ((g?.Properties?.TargetGroupAttributes ?? []) as { Key?: string; Value?: unknown }[]).find(
      (a) => a.Key === key,
    )?.Value;
  // ELBv2 defaults: deregistration 300 s, health check every 30 s, 5 healthy checks.
  const drain = groups.length ? Number(attr(groups[0], 'deregistration_delay.timeout_seconds') ?? 300) : 0;
  const checks = groups.length
    ? Number(groups[0]!.Properties?.HealthCheckIntervalSeconds ?? 30) *
      Number(groups[0]!.Properties?.HealthyThresholdCount ?? 5)
    : 0;
  const task = [...identifySubjects(ctx.after, ctx.names).botTaskDefinitions].map((id) => ctx.newRes[id])[0];
  const containers = (task?.Properties?.ContainerDefinitions ?? []) as { StopTimeout?: unknown }[];
  const stop = Math.max(30, ...containers.map((c) => Number(c.StopTimeout ?? 30)));
  const total = drain + stop + checks;
  return (
    `The bot stops, then starts (stop-first): trading pauses for about ${total} s` +
    ` (drain ${drain} s, stop ${stop} s, health checks ${checks} s) plus the new task's image pull and start.`
  );
}

/** Logical ids referred to by a value, in order of appearance. */
function referencedIdsOf(value: unknown): string[] {
  return [...referencedIds(value)];
}

export function imagesChanged(ctx: RuleContext): FindingDraft[] {
  return ctx.taskDefinitions.flatMap((t) =>
    t.imageTags.map((i) => ({
      resources: [t.logicalId],
      message: `${t.service === 'bot' ? 'Bot' : 'ML service'} image ${i.from ? code(i.from) : '(none)'} → ${i.to ? code(i.to) : '(none)'} (container ${i.container}${i.repository ? `, repository ${i.repository}` : ''})`,
      consequence: t.service === 'bot' && t.change === 'updated' ? botRestartNote(ctx) : undefined,
      headline: `${t.service} image ${i.from ?? '(none)'} → ${i.to ?? '(none)'}`,
    })),
  );
}

export function taskDefinitionChanged(ctx: RuleContext): FindingDraft[] {
  return ctx.taskDefinitions
    .filter((t) => t.details.length > 0 || (t.change !== 'updated' && t.imageTags.length === 0))
    .map((t) => ({
      resources: [t.logicalId],
      message: `${t.service === 'bot' ? "Bot's" : "ML service's"} task definition ${subject(ctx, t.logicalId)}${t.change === 'updated' ? '' : ` ${t.change}`}: ${t.details.join('; ') || 'changed'}`,
      // Said once: with the image line when the image changes too.
      consequence:
        t.service === 'bot' && t.change === 'updated' && t.imageTags.length === 0
          ? botRestartNote(ctx)
          : undefined,
      headline: `${t.service} task definition changed`,
    }));
}

const flag = (v: unknown) => (v === undefined ? '(unset)' : code(String(v)));

export function liveTradingOn(ctx: RuleContext): FindingDraft[] {
  return ctx.liveTrading
    .filter((l) => l.to === true && l.from !== true)
    .map((l) => ({
      resources: [l.logicalId],
      message: `**Live trading switched on** in ${code(l.secretName)}: \`live_trading_enabled\` ${flag(l.from)} → \`true\`. A deploy writes this over the live value, including an emergency stop’s \`false\`.`,
      headline: `live trading switched on (${code(l.secretName)})`,
    }));
}

export function liveTradingChanged(ctx: RuleContext): FindingDraft[] {
  return ctx.liveTrading
    .filter((l) => !ctx.claimed.has(l.logicalId))
    .map((l) => ({
      resources: [l.logicalId],
      message:
        l.change === 'removed'
          ? `Config secret ${code(l.secretName)} leaves the template.`
          : `Config secret ${code(l.secretName)}: \`live_trading_enabled\` ${l.change === 'added' ? 'created as' : `${flag(l.from)} →`} ${flag(l.to)}. A deploy writes this over the live value.`,
      headline: `config secret ${code(l.secretName)} changed`,
    }));
}

// ---------------------------------------------------------------------------------------------
// Safety code: the functions bundled from lambda/ (emergency stop, rollback, migrations)

/**
 * A changed bundle of a safety function warns in every environment and lists the source files a
 * reviewer must open: the template shows only a new asset hash, and the tool cannot judge code.
 */
function safetyCodeChanged(ctx: RuleContext): Finding[] {
  return (ctx.safetyCode ?? []).map((c) => {
    const files = c.known
      ? c.files.length
        ? `changed files: ${c.files.map(code).join(', ')}`
        : `no file of its bundle differs: the change comes from a dependency (package-lock.json) or the build`
      : 'which files changed is unknown without git (--base-dir, --deployed): compare the sources by hand';
    return {
      rule: 'safety-code-changed',
      severity: 'warn',
      stackName: ctx.stackName,
      resources: [c.logicalId],
      properties: ['Code'],
      message: `**Safety code changed**: function ${subject(ctx, c.logicalId)} (${code(c.folder)}) gets a new bundle; ${files}. Read them: this tool cannot judge code.`,
      headline: `safety code of ${code(nameOf(ctx, c.logicalId))} (${c.folder}) changed`,
    };
  });
}

/** Safety-code changes as a finding provider (rules.ts runs it). */
export const SAFETY_CODE_PROVIDER: FindingProvider = {
  id: 'safety-code',
  ruleIds: ['safety-code-changed'],
  overrides: {},
  detect: safetyCodeChanged,
};
