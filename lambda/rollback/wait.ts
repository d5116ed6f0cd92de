import { EcsGateway } from './ecs';
import { Clock } from './retry';
import { label } from './task-definition';

/** How watching the service after the change ended. */
export interface WatchResult {
  readonly outcome: 'rolled-back' | 'rolled-back-unstable' | 'rollback-failed';
  /** Why it is unstable or failed, in words. */
  readonly detail?: string;
  /** Task-definition ARN the service runs at the last look, when the service could be read. */
  readonly nowRuns?: string;
  readonly waitedSeconds: number;
}

/** While ECS carries out a stop, it still shows the stopped deployment for a moment. */
const STOPPING = new Set(['STOP_REQUESTED', 'ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS']);

/**
 * Polls DescribeServices (and, after a stop, the stopped deployment) until the service is steady on
 * `expected`: one deployment left, rollout COMPLETED, as many tasks running as desired. Each poll
 * also looks for the ways the rollback can fail, so a failure is reported at the first poll that
 * shows it: a FAILED rollout of `expected` (the circuit breaker), the service on another revision
 * (the breaker returned it to `replacing`, or someone deployed), or a ROLLBACK_FAILED stop. Gives up
 * after `timeoutMs` (ECS carries on) and never throws: an unreadable service is reported as such.
 */
export async function watch(
  ecs: EcsGateway,
  service: string,
  options: {
    expected: string;
    replacing: string;
    stoppedDeployment?: string;
    timeoutMs: number;
    pollIntervalMs: number;
    clock: Clock;
  },
): Promise<WatchResult> {
  const { clock, expected } = options;
  const started = clock.now();
  const waited = () => Math.round((clock.now() - started) / 1000);
  let nowRuns: string | undefined;
  for (;;) {
    try {
      const svc = await ecs.describeService(service);
      nowRuns = svc.taskDefinition;
      const deployments = svc.deployments ?? [];
      const stopStatus = options.stoppedDeployment
        ? (await ecs.describeDeployment(options.stoppedDeployment))?.status
        : undefined;
      if (stopStatus === 'ROLLBACK_FAILED')
        return {
          outcome: 'rollback-failed',
          detail: `ECS reports the ROLLBACK of ${options.stoppedDeployment} FAILED; ${service} runs ${label(svc.taskDefinition!)}`,
          nowRuns,
          waitedSeconds: waited(),
        };
      const failedOurs = deployments.find(
        (d) => d.taskDefinition === expected && d.rolloutState === 'FAILED',
      );
      const stillStopping =
        svc.taskDefinition === options.replacing && stopStatus !== undefined && STOPPING.has(stopStatus);
      if (svc.taskDefinition !== expected && !stillStopping)
        return {
          outcome: 'rollback-failed',
          detail: failedOurs
            ? `ECS undid the rollback (${failedOurs.rolloutStateReason ?? 'rollout FAILED'}): ${service} runs ${label(svc.taskDefinition!)} again`
            : `${service} was moved to ${label(svc.taskDefinition!)} by another deployment while the rollback rolled out`,
          nowRuns,
          waitedSeconds: waited(),
        };
      if (failedOurs)
        return {
          outcome: 'rollback-failed',
          detail: `ECS reports the rollout of ${label(expected)} FAILED (${failedOurs.rolloutStateReason ?? 'no reason given'})`,
          nowRuns,
          waitedSeconds: waited(),
        };
      const primary = deployments.find((d) => d.status === 'PRIMARY');
      if (
        primary &&
        deployments.length === 1 &&
        primary.rolloutState === 'COMPLETED' &&
        (primary.runningCount ?? 0) === (primary.desiredCount ?? 0)
      )
        return { outcome: 'rolled-back', nowRuns, waitedSeconds: waited() };
    } catch (err) {
      return {
        outcome: 'rolled-back-unstable',
        detail: `watching the rollout failed (${(err as Error).message}); the change itself was accepted`,
        nowRuns,
        waitedSeconds: waited(),
      };
    }
    if (clock.now() - started + options.pollIntervalMs > options.timeoutMs)
      return {
        outcome: 'rolled-back-unstable',
        detail: 'ECS is still rolling it out',
        nowRuns,
        waitedSeconds: waited(),
      };
    await clock.sleep(options.pollIntervalMs);
  }
}
