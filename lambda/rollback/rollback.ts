import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { RollbackConfig } from './config';
import { EcsGateway } from './ecs';
import { InputError, NoRollbackTargetError } from './errors';
import { Entry, History } from './history';
import { driftNote, formatReport, notificationSubject } from './report';
import { Clock } from './retry';
import { label, registrableInput, revisionInfo, sameDefinition } from './task-definition';
import { NothingToDo, PlanRef, RollbackReport, RollbackRequest } from './types';
import { watch } from './wait';

/** What a run needs from outside; tests pass fakes. */
export interface RollbackDeps {
  readonly ecs: EcsGateway;
  readonly config: RollbackConfig;
  readonly clock: Clock;
  /** Publishes one message to the on-call topic. */
  publish(subject: string, message: string): Promise<void>;
  /**
   * Epoch milliseconds by which the run must have reported (the Lambda's own end, less a margin).
   * @default no limit besides the configured wait bound
   */
  readonly deadline?: number;
}

/** Time kept back from the deadline for the notification after the last ECS call. */
const PUBLISH_RESERVE_MS = 15_000;
/** A stop that loses a race with the deployment ending is re-planned at most this many times. */
const MAX_ROUNDS = 3;

type Base = Pick<
  RollbackReport,
  'environment' | 'cluster' | 'service' | 'dryRun' | 'trigger' | 'requestedBy' | 'reason'
>;

/** A plan that changes something. */
interface Act {
  readonly kind: 'act';
  readonly plan: PlanRef;
  readonly from: TaskDefinition;
  readonly to: TaskDefinition;
  readonly direction: 'back' | 'forward';
  readonly history: string[];
  readonly warnings: string[];
}

/** A plan that changes nothing. */
interface Nothing {
  readonly kind: 'nothing';
  readonly why: NothingToDo;
  readonly summary: string;
  readonly history: string[];
  readonly warnings?: string[];
  readonly from?: TaskDefinition;
  readonly to?: TaskDefinition;
}

type Decision = Act | Nothing;

function describeTrigger(request: RollbackRequest): string {
  return request.trigger.kind === 'alarm'
    ? `alarm ${request.trigger.alarmName} (ALARM since ${request.trigger.stateChangedAt.toISOString()})`
    : 'manual request';
}

const at = (d?: Date) => d?.toISOString() ?? 'an unknown time';
const name = (td: TaskDefinition) => label(td.taskDefinitionArn!);

/** Whether two plans go from the same revision to the same one (how they get there may differ). */
export function samePlan(a: PlanRef, b: PlanRef): boolean {
  return a.from === b.from && a.to === b.to;
}

/** Turns the request's `to` (ARN, `family:revision` or a number) into an ARN of the service's family. */
function targetArn(to: string, current: TaskDefinition): string {
  if (to.startsWith('arn:')) return to;
  const prefix = current.taskDefinitionArn!.slice(0, current.taskDefinitionArn!.lastIndexOf('/') + 1);
  return /^\d+$/.test(to) ? `${prefix}${current.family}:${to}` : `${prefix}${to}`;
}

async function explicitTarget(
  ecs: EcsGateway,
  request: RollbackRequest,
  history: History,
): Promise<TaskDefinition> {
  const arn = targetArn(request.to!, history.current);
  const choices = history.runs
    .slice(0, 5)
    .map((r) => name(r.content))
    .join(', ');
  const fix = `name a revision of ${history.current.family} that deployed successfully (newest first: ${choices || 'none in the history'})`;
  let td: TaskDefinition;
  try {
    td = await ecs.describeTaskDefinition(arn);
  } catch (err) {
    if ((err as { name?: string }).name === 'ClientException') throw new InputError('to', request.to, fix);
    throw err;
  }
  if (td.family !== history.current.family || !history.ranBefore(td))
    throw new InputError('to', request.to, fix);
  return td;
}

/** Works out what a rollback of the service would do now. Calls nothing that changes anything. */
async function decide(request: RollbackRequest, deps: RollbackDeps): Promise<Decision> {
  const { ecs, config } = deps;
  const history = await History.read(ecs, request.service);
  const notes = history.notes();
  const current = history.current;
  const situation = history.situation();
  const nothing = (why: NothingToDo, summary: string, extra: Partial<Nothing> = {}): Nothing => ({
    kind: 'nothing',
    why,
    summary,
    history: notes,
    from: current,
    ...extra,
  });
  const alarm = request.trigger.kind === 'alarm' ? request.trigger : undefined;
  const explicitHint = `To go back further, name the revision: npm run ops -- rollback --env ${config.environmentName} --service ${request.service} --to <revision>.`;

  // A deployment in flight: stop a release, never a return (that would roll forward).
  if (situation.kind === 'in-flight') {
    const { entry } = situation;
    const deploying = entry.target ? name(entry.target) : 'an unknown revision';
    if (situation.knownBefore)
      return nothing(
        'rollback-in-progress',
        `A deployment back to ${deploying}, which ran successfully before, is in progress (${entry.record.arn}, started ${at(entry.record.createdAt)}): that is a rollback. Stopping it would roll forward; nothing was changed.`,
        { to: entry.target },
      );
    if (request.to)
      return nothing(
        'needs-a-person',
        `A deployment of ${deploying} is in progress (${entry.record.arn}): wait until it ends, then choose the revision again. Nothing was changed.`,
      );
    if (alarm && (entry.record.createdAt?.getTime() ?? 0) > alarm.stateChangedAt.getTime())
      return nothing(
        'needs-a-person',
        `Alarm ${alarm.alarmName} went off before deployment ${entry.record.arn} of ${deploying} started: the alarm is not about it. Not acting automatically.`,
      );
    const sourceArn = await sourceOf(ecs, entry);
    const source = sourceArn ? await ecs.describeTaskDefinition(sourceArn) : history.runs[0]?.content;
    if (!entry.target || !source)
      return nothing(
        'needs-a-person',
        `A deployment is in progress (${entry.record.arn}) but ECS does not say what it deploys or replaces. Nothing was changed: watch it in the ECS console.`,
      );
    return {
      kind: 'act',
      plan: {
        action: 'stop-deployment',
        from: entry.target.taskDefinitionArn!,
        to: source.taskDefinitionArn!,
        deployment: entry.record.arn,
      },
      from: entry.target,
      to: source,
      direction: 'back',
      history: notes,
      warnings: [],
    };
  }
  if (situation.kind === 'undoing')
    return nothing(
      'rollback-in-progress',
      `ECS is already undoing deployment ${situation.entry.record.arn} (${situation.entry.record.status}); nothing was changed.`,
    );

  // An explicit revision: the only way to roll forward, or further back than one step.
  if (request.to) {
    const to = await explicitTarget(ecs, request, history);
    if (sameDefinition(to, current))
      return nothing(
        'already-on-target',
        `${request.service} already runs ${name(to)}; nothing was changed.`,
        {
          to,
        },
      );
    const forward = history.firstRun(to) < history.firstRun(current);
    return {
      kind: 'act',
      plan: { action: 'update-service', from: current.taskDefinitionArn!, to: to.taskDefinitionArn! },
      from: current,
      to,
      direction: forward ? 'forward' : 'back',
      history: notes,
      warnings: forward
        ? [`${name(to)} is NEWER than ${name(current)}: this rolls FORWARD, as asked explicitly.`]
        : [],
    };
  }

  const lastChange = history.runs[0]?.start;
  if (situation.kind === 'undone')
    return nothing(
      'undone-by-ecs',
      `ECS already undid the latest deployment (${name2(situation.entry)}, ${situation.entry.record.arn}, ROLLBACK_SUCCESSFUL at ${at(situation.entry.record.finishedAt)}): ${request.service} runs ${name(current)}, as before it. Nothing was changed. ${explicitHint}`,
    );
  if (situation.kind === 'backward') {
    const before = history.runs[1].content;
    return nothing(
      'already-rolled-back',
      `${request.service} was already rolled back from ${name(before)} to ${name(current)} at ${at(lastChange?.record.createdAt)} (deployment ${lastChange?.record.arn}); a repeated rollback does nothing. ${explicitHint}`,
      { from: before, to: current },
    );
  }
  if (situation.kind === 'unexplained')
    return nothing(
      'needs-a-person',
      `${request.service} runs ${name(current)}, which is not what its newest successful deployment deployed (${lastChange?.target ? name(lastChange.target) : '?'}): the history cannot tell what to return to. Nothing was changed; choose with --to <revision>.`,
    );
  if (situation.kind === 'single') {
    if (!alarm) throw new NoRollbackTargetError(request.service, name(current));
    return nothing(
      'no-earlier-revision',
      `Alarm ${alarm.alarmName} fired, but the ECS deployment history (90 days) holds no earlier successful revision of ${request.service} than ${name(current)}: there is nothing to roll back to. Nothing was changed. Fix: deploy a known-good image tag through environments/ and cdk deploy.`,
    );
  }

  // The newest deployment is a release (forward), or ECS's rollback of it failed: return to the
  // revision that ran successfully before it, never further.
  const failing: Entry | undefined = situation.kind === 'rollback-failed' ? situation.entry : lastChange;
  const warnings: string[] = [];
  let target: TaskDefinition;
  if (situation.kind === 'rollback-failed') {
    if (!situation.entry.target || !sameDefinition(situation.entry.target, current))
      return nothing(
        'needs-a-person',
        `ECS's rollback of deployment ${situation.entry.record.arn} FAILED; ${request.service} runs ${name(current)}, the revision before it. Nothing was changed: check the service's tasks and events in the ECS console.`,
      );
    target = history.runs[0].content;
    warnings.push(
      `ECS's own rollback of ${situation.entry.record.arn} FAILED: this run tries again with UpdateService.`,
    );
  } else target = history.runs[1].content;

  if (alarm && failing) {
    const created = failing.record.createdAt?.getTime() ?? 0;
    if (created > alarm.stateChangedAt.getTime())
      return nothing(
        'needs-a-person',
        `Alarm ${alarm.alarmName} went off before deployment ${failing.record.arn} started: it was already acted on, or is about an earlier version. Not acting automatically.`,
      );
    const finished = failing.record.finishedAt?.getTime() ?? created;
    if (deps.clock.now() - finished > config.alarmWindowMs)
      return nothing(
        'needs-a-person',
        `Alarm ${alarm.alarmName} fired, but ${name(current)} was deployed more than ${config.alarmWindowMs / 3_600_000} h ago: not rolling back automatically. Decide, then run npm run ops -- rollback --env ${config.environmentName} --service ${request.service} (a dry run first).`,
      );
  }
  return {
    kind: 'act',
    plan: { action: 'update-service', from: current.taskDefinitionArn!, to: target.taskDefinitionArn! },
    from: current,
    to: target,
    direction: 'back',
    history: notes,
    warnings,
  };
}

function name2(e: Entry): string {
  return e.target ? name(e.target) : 'an unknown revision';
}

async function sourceOf(ecs: EcsGateway, entry: Entry): Promise<string | undefined> {
  const source = (await ecs.describeDeployment(entry.record.arn))?.sourceRevisionArn;
  return source ? (await ecs.revisionTaskDefinitions([source])).get(source) : undefined;
}

/** The deployment ended before the stop reached it: a race, to be re-planned. */
class RaceLost extends Error {}

/**
 * Rolls one service back to the revision that ran successfully before its latest release, or stops
 * a release in progress with ECS's ROLLBACK, or goes to an explicit revision; acts only on a plan
 * that is still current, and reports truthfully what happened. See docs/rollback.md.
 */
export async function runRollback(request: RollbackRequest, deps: RollbackDeps): Promise<RollbackReport> {
  const { ecs, config } = deps;
  if (deps.deadline !== undefined) ecs.deadline = deps.deadline - PUBLISH_RESERVE_MS;
  const base: Base = {
    environment: config.environmentName,
    cluster: config.cluster,
    service: request.service,
    dryRun: request.dryRun,
    trigger: describeTrigger(request),
    requestedBy: request.requestedBy,
    reason: request.reason,
  };
  const finish = async (report: RollbackReport): Promise<RollbackReport> => {
    // A person asked and reads the answer; an alarm's run reaches nobody unless it is published.
    const publish = !request.dryRun && (report.moved || request.trigger.kind === 'alarm');
    if (!publish) return report;
    try {
      await deps.publish(notificationSubject(report), formatReport(report).join('\n'));
      return { ...report, notified: true };
    } catch (err) {
      return { ...report, notified: false, notificationError: (err as Error).message };
    }
  };
  const nothingReport = (d: Nothing, plan?: PlanRef): RollbackReport => ({
    ...base,
    action: 'none',
    outcome: 'nothing-to-do',
    why: d.why,
    summary: d.summary,
    history: d.history,
    from: d.from && revisionInfo(d.from),
    to: d.to && revisionInfo(d.to),
    plan,
    moved: false,
    nowRuns: undefined,
    warnings: d.warnings ?? [],
    notified: false,
  });

  let guard = request.plan;
  for (let round = 1; ; round++) {
    const decision = await decide(request, deps);
    if (decision.kind === 'nothing') return finish(nothingReport(decision));
    const from = revisionInfo(decision.from);
    const to = revisionInfo(decision.to);
    const stop = decision.plan.action === 'stop-deployment';
    const verb = decision.direction === 'forward' ? 'FORWARD' : 'back';
    const plan: RollbackReport = {
      ...base,
      action: decision.plan.action,
      outcome: 'planned',
      summary: stop
        ? `Would stop the in-progress deployment of ${from.label} with ROLLBACK (back to ${to.label}).`
        : `Would roll ${request.service} ${verb} from ${from.label} to ${to.label}.`,
      history: decision.history,
      plan: decision.plan,
      direction: decision.direction,
      from,
      to,
      targetInactive: !stop && decision.to.status === 'INACTIVE',
      stoppedDeployment: decision.plan.deployment,
      driftNote: driftNote(config.environmentName, request.service, from, to, decision.plan.action),
      moved: false,
      warnings: decision.warnings,
      notified: false,
    };
    if (request.dryRun) return plan;
    if (guard && !samePlan(guard, decision.plan))
      return finish({
        ...nothingReport(
          {
            kind: 'nothing',
            why: 'stale-plan',
            summary: `${request.service} changed since the plan (${label(guard.from)} -> ${label(guard.to)}): now it would be ${from.label} -> ${to.label} (${decision.plan.action}). Nothing was changed; read the new plan and confirm it.`,
            history: decision.history,
            warnings: decision.warnings,
          },
          decision.plan,
        ),
        from,
        to,
      });
    // An automatic run holds to its first plan too: a race that changes it stops the run.
    guard ??= decision.plan;
    try {
      return await act(decision, plan, deps, finish);
    } catch (err) {
      if (err instanceof RaceLost && round < MAX_ROUNDS) continue;
      throw err;
    }
  }
}

/** Carries out a plan; from the first accepted change on, every failure is reported, not thrown. */
async function act(
  decision: Act,
  plan: RollbackReport,
  deps: RollbackDeps,
  finish: (r: RollbackReport) => Promise<RollbackReport>,
): Promise<RollbackReport> {
  const { ecs, config } = deps;
  const service = plan.service;
  let deployArn = decision.to.taskDefinitionArn!;
  let reregisteredAs: string | undefined;
  if (decision.plan.action === 'stop-deployment') {
    try {
      await ecs.stopDeploymentWithRollback(decision.plan.deployment!);
    } catch (err) {
      // The deployment may have ended between the listing and the stop: then plan again.
      const now = await ecs.describeDeployment(decision.plan.deployment!).catch(() => undefined);
      if (now && now.status !== 'IN_PROGRESS' && now.status !== 'PENDING') throw new RaceLost();
      throw err;
    }
  } else {
    // ECS refuses an INACTIVE revision (CloudFormation deregistered it): register a copy first.
    if (decision.to.status === 'INACTIVE') {
      const copy = await ecs.registerTaskDefinition(registrableInput(decision.to));
      deployArn = reregisteredAs = copy.taskDefinitionArn!;
    }
    try {
      await ecs.updateService(service, deployArn);
    } catch (err) {
      // An unanswered UpdateService may still have been applied: look before saying nothing changed.
      const svc = await ecs.describeService(service).catch(() => undefined);
      if (svc?.taskDefinition !== deployArn) throw err;
    }
  }

  // The service moved. From here on the report says so, whatever fails.
  const started = deps.clock.now();
  const left = deps.deadline === undefined ? Number.POSITIVE_INFINITY : ecs.deadline - started;
  const result = await watch(ecs, service, {
    expected: deployArn,
    replacing: decision.from.taskDefinitionArn!,
    stoppedDeployment: decision.plan.deployment,
    timeoutMs: Math.min(config.waitTimeoutMs, left),
    pollIntervalMs: config.pollIntervalMs,
    clock: deps.clock,
  });
  const moved = `${plan.to!.label}${reregisteredAs ? ` (as ${label(reregisteredAs)})` : ''}`;
  const what =
    decision.plan.action === 'stop-deployment'
      ? `Stopped the deployment of ${plan.from!.label} with ROLLBACK`
      : `Rolled ${service} ${decision.direction === 'forward' ? 'FORWARD' : 'back'} from ${plan.from!.label} to ${moved}`;
  const summary =
    result.outcome === 'rolled-back'
      ? `${what}; stable after ${result.waitedSeconds} s.`
      : result.outcome === 'rolled-back-unstable'
        ? `${what}; NOT stable after ${result.waitedSeconds} s: ${result.detail}. ECS carries on: watch it with npm run ops -- status --env ${config.environmentName}. Do not repeat the rollback to retry it.`
        : `${what}, but the rollback FAILED: ${result.detail}`;
  return finish({
    ...plan,
    outcome: result.outcome,
    summary,
    reregisteredAs,
    moved: true,
    // UpdateService / the stop was accepted: ECS runs the target unless a look said otherwise.
    nowRuns: label(
      result.nowRuns ?? (decision.plan.action === 'stop-deployment' ? decision.plan.to : deployArn),
    ),
    stable: result.outcome === 'rolled-back',
    waitedSeconds: result.waitedSeconds,
  });
}
