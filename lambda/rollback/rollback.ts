import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { RollbackConfig } from './config';
import { DeploymentRecord, EcsGateway } from './ecs';
import { InputError, NoRollbackTargetError } from './errors';
import { driftNote, formatReport, notificationSubject } from './report';
import { Clock } from './retry';
import { registrableInput, revisionInfo, sameDefinition } from './task-definition';
import { RollbackReport, RollbackRequest } from './types';
import { waitForStable } from './wait';

/** What a run needs from outside; tests pass fakes. */
export interface RollbackDeps {
  readonly ecs: EcsGateway;
  readonly config: RollbackConfig;
  readonly clock: Clock;
  /** Publishes one message to the on-call topic. */
  publish(subject: string, message: string): Promise<void>;
}

/** A deployment ECS is still carrying out: the thing to stop, not to deploy over. */
const ACTIVE = new Set(['PENDING', 'IN_PROGRESS']);
/** ECS is already stopping or rolling back a deployment. */
const STOPPING = new Set(['STOP_REQUESTED', 'ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS']);
/** Older successful deployments compared against the running version to spot a roll-forward. */
const ROLL_FORWARD_LOOKBACK = 20;

type Base = Pick<
  RollbackReport,
  'environment' | 'cluster' | 'service' | 'dryRun' | 'trigger' | 'requestedBy' | 'reason'
>;

function describeTrigger(request: RollbackRequest): string {
  return request.trigger.kind === 'alarm'
    ? `alarm ${request.trigger.alarmName} (ALARM since ${request.trigger.stateChangedAt.toISOString()})`
    : 'manual request';
}

/**
 * Rolls one service back to the task definition of its most recent successful deployment that
 * differs from what it runs now (or to the explicit target of a plan), stops an in-progress
 * deployment with ROLLBACK instead, and reports what it did. See README "Rollback".
 */
export async function runRollback(request: RollbackRequest, deps: RollbackDeps): Promise<RollbackReport> {
  const { ecs, config } = deps;
  const base: Base = {
    environment: config.environmentName,
    cluster: config.cluster,
    service: request.service,
    dryRun: request.dryRun,
    trigger: describeTrigger(request),
    requestedBy: request.requestedBy,
    reason: request.reason,
  };
  const finish = async (report: RollbackReport, notify: boolean): Promise<RollbackReport> => {
    if (!notify || request.dryRun) return report;
    await deps.publish(notificationSubject(report), formatReport(report).join('\n'));
    return { ...report, notified: true };
  };
  const noop = (outcome: RollbackReport['outcome'], summary: string, extra: Partial<RollbackReport> = {}) =>
    ({
      ...base,
      action: 'none',
      outcome,
      summary,
      warnings: [],
      notified: false,
      ...extra,
    }) as RollbackReport;

  const service = await ecs.describeService(request.service);
  const currentArn = service.taskDefinition!;
  const current = await ecs.describeTaskDefinition(currentArn);
  const deployments = await ecs.listDeployments(request.service);
  const tdOf = async (d: DeploymentRecord): Promise<TaskDefinition | undefined> => {
    if (!d.targetRevisionArn) return undefined;
    const arn = (await ecs.revisionTaskDefinitions([d.targetRevisionArn])).get(d.targetRevisionArn);
    return arn ? ecs.describeTaskDefinition(arn) : undefined;
  };
  const requestedTarget = request.targetTaskDefinition
    ? await ecs.describeTaskDefinition(request.targetTaskDefinition)
    : undefined;

  // 1. A deployment in flight is stopped with ROLLBACK, unless it is this very rollback.
  const inFlight = deployments.find((d) => ACTIVE.has(d.status));
  if (inFlight) {
    const deploying = await tdOf(inFlight);
    const ours =
      (requestedTarget && deploying && sameDefinition(deploying, requestedTarget)) ||
      (request.trigger.kind === 'alarm' &&
        (inFlight.createdAt?.getTime() ?? 0) >= request.trigger.stateChangedAt.getTime());
    if (ours)
      return noop(
        'already-rolling-back',
        `A deployment to the rollback target is already in progress (${inFlight.arn}); nothing to do.`,
      );
    const sourceRevision = await ecs.deploymentSourceRevision(inFlight.arn);
    const sourceArn = sourceRevision
      ? (await ecs.revisionTaskDefinitions([sourceRevision])).get(sourceRevision)
      : undefined;
    const from = revisionInfo(deploying ?? current);
    const to = sourceArn ? revisionInfo(await ecs.describeTaskDefinition(sourceArn)) : undefined;
    const plan: RollbackReport = {
      ...base,
      action: 'stop-deployment',
      outcome: request.dryRun ? 'planned' : 'deployment-stopped',
      summary: `${request.dryRun ? 'Would stop' : 'Stopped'} the in-progress deployment of ${from.label} with ROLLBACK${to ? ` (back to ${to.label})` : ''}.`,
      from,
      to,
      stoppedDeployment: inFlight.arn,
      driftNote: to
        ? driftNote(config.environmentName, request.service, from, to, 'stop-deployment')
        : undefined,
      warnings: [],
      notified: false,
    };
    if (request.dryRun) return plan;
    await ecs.stopDeploymentWithRollback(inFlight.arn);
    const waited = await waitForStable(ecs, request.service, {
      timeoutMs: config.waitTimeoutMs,
      pollIntervalMs: config.pollIntervalMs,
      clock: deps.clock,
      // Steady on the revision ECS returns to, not on the stopped deployment's last poll.
      expectedTaskDefinition: sourceArn,
    });
    return finish(
      { ...plan, stable: waited.stable, waitedSeconds: waited.waitedSeconds, warnings: failed(waited) },
      true,
    );
  }

  // 2. ECS (its alarms, its circuit breaker, or an earlier stop) is already rolling back.
  const stopping = deployments.find((d) => STOPPING.has(d.status));
  if (stopping)
    return noop(
      'already-rolling-back',
      `ECS is already rolling back deployment ${stopping.arn} (${stopping.status}); nothing to do.`,
    );

  const successful = deployments.filter((d) => d.status === 'SUCCESSFUL');

  // 3. An alarm acts once, and only on a recent deployment.
  if (request.trigger.kind === 'alarm') {
    const since = request.trigger.stateChangedAt.getTime();
    const after = deployments.find((d) => (d.createdAt?.getTime() ?? 0) >= since);
    if (after)
      return noop(
        'already-rolling-back',
        `Deployment ${after.arn} started after the alarm; this alarm was already acted on.`,
      );
    let running: DeploymentRecord | undefined;
    for (const d of successful) {
      const td = await tdOf(d);
      if (td && sameDefinition(td, current)) {
        running = d;
        break;
      }
    }
    const finished = running?.finishedAt?.getTime();
    if (finished === undefined || deps.clock.now() - finished > config.alarmWindowMs) {
      const hours = config.alarmWindowMs / 3_600_000;
      return finish(
        noop(
          'refused',
          `Alarm ${request.trigger.alarmName} fired, but ${revisionInfo(current).label} was deployed more than ${hours} h ago ` +
            '(or its deployment is no longer in the history): not rolling back automatically. Decide, then run ' +
            `npm run ops -- rollback --env ${config.environmentName} --service ${request.service}.`,
          { from: revisionInfo(current) },
        ),
        true,
      );
    }
  }

  // 4. Choose the target: the plan's, or the most recent successful deployment that differs.
  let target: TaskDefinition | undefined;
  let targetIndex = -1;
  if (requestedTarget) {
    if (sameDefinition(current, requestedTarget))
      return noop(
        'already-on-target',
        `${request.service} already runs ${revisionInfo(requestedTarget).label}; nothing to do.`,
        {
          to: revisionInfo(requestedTarget),
        },
      );
    if (request.expectedCurrentTaskDefinition) {
      const expected = await ecs.describeTaskDefinition(request.expectedCurrentTaskDefinition);
      if (!sameDefinition(current, expected))
        return noop(
          'refused',
          `${request.service} now runs ${revisionInfo(current).label}, not ${revisionInfo(expected).label} as the plan saw: ` +
            'nothing was changed. Run the dry run again.',
          { from: revisionInfo(current) },
        );
    }
    for (let i = 0; i < successful.length && targetIndex === -1; i++) {
      const td = await tdOf(successful[i]);
      if (td && sameDefinition(td, requestedTarget)) targetIndex = i;
    }
    if (targetIndex === -1)
      throw new InputError(
        'targetTaskDefinition',
        request.targetTaskDefinition,
        `roll back only to the task definition of a successful deployment of ${request.service}; run the dry run to see it`,
      );
    target = requestedTarget;
  } else {
    for (let i = 0; i < successful.length && !target; i++) {
      const td = await tdOf(successful[i]);
      if (td && !sameDefinition(td, current)) {
        target = td;
        targetIndex = i;
      }
    }
    if (!target) throw new NoRollbackTargetError(request.service, revisionInfo(current).label);
  }

  const from = revisionInfo(current);
  const to = revisionInfo(target);
  const warnings: string[] = [];

  // 5. Returning to a version that was itself rolled back from would be a roll-forward.
  const older = successful.slice(targetIndex + 1, targetIndex + 1 + ROLL_FORWARD_LOOKBACK);
  for (const d of older) {
    const td = await tdOf(d);
    if (td && sameDefinition(td, current)) {
      warnings.push(
        `${from.label} is itself a return to an older version: going to ${to.label} rolls FORWARD to a version ` +
          'that was rolled back from.',
      );
      break;
    }
  }
  if (warnings.length > 0 && request.trigger.kind === 'alarm')
    return finish(
      noop(
        'refused',
        `Alarm ${request.trigger.alarmName} fired, but the only rollback target is newer than what runs: not acting automatically.`,
        {
          from,
          to,
          warnings,
        },
      ),
      true,
    );

  const targetInactive = target.status === 'INACTIVE';
  const plan: RollbackReport = {
    ...base,
    action: 'update-service',
    outcome: request.dryRun ? 'planned' : 'rolled-back',
    summary: `${request.dryRun ? 'Would roll' : 'Rolled'} ${request.service} back from ${from.label} to ${to.label}.`,
    from,
    to,
    targetInactive,
    driftNote: driftNote(config.environmentName, request.service, from, to, 'update-service'),
    warnings,
    notified: false,
  };
  if (request.dryRun) return plan;

  // 6. ECS refuses an INACTIVE revision (CloudFormation deregistered it): register a copy first.
  let deployArn = target.taskDefinitionArn!;
  let reregisteredAs: string | undefined;
  if (targetInactive) {
    const copy = await ecs.registerTaskDefinition(registrableInput(target));
    deployArn = reregisteredAs = copy.taskDefinitionArn!;
  }
  await ecs.updateService(request.service, deployArn);
  const waited = await waitForStable(ecs, request.service, {
    timeoutMs: config.waitTimeoutMs,
    pollIntervalMs: config.pollIntervalMs,
    clock: deps.clock,
    expectedTaskDefinition: deployArn,
  });
  return finish(
    {
      ...plan,
      reregisteredAs,
      stable: waited.stable,
      waitedSeconds: waited.waitedSeconds,
      warnings: [...warnings, ...failed(waited)],
    },
    true,
  );
}

function failed(waited: { failedReason?: string }): string[] {
  return waited.failedReason ? [`ECS reports the rollout FAILED: ${waited.failedReason}`] : [];
}
