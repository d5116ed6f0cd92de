import { EcsGateway } from './ecs';
import { Clock } from './retry';

/** How a wait for a steady state ended. */
export interface WaitResult {
  readonly stable: boolean;
  /** The deployment failed (e.g. the circuit breaker tripped): ECS says why. */
  readonly failedReason?: string;
  readonly waitedSeconds: number;
}

/**
 * Polls DescribeServices until the service is steady: one deployment left, rollout COMPLETED, as
 * many tasks running as desired and, when `expectedTaskDefinition` is given, on that revision.
 * Gives up after `timeoutMs` (the rollback goes on in ECS; the report says it was not yet stable).
 */
export async function waitForStable(
  ecs: EcsGateway,
  service: string,
  options: { timeoutMs: number; pollIntervalMs: number; clock: Clock; expectedTaskDefinition?: string },
): Promise<WaitResult> {
  const { clock } = options;
  const started = clock.now();
  const waited = () => Math.round((clock.now() - started) / 1000);
  for (;;) {
    const svc = await ecs.describeService(service);
    const deployments = svc.deployments ?? [];
    const primary = deployments.find((d) => d.status === 'PRIMARY');
    if (primary?.rolloutState === 'FAILED')
      return {
        stable: false,
        failedReason: primary.rolloutStateReason ?? 'rollout FAILED',
        waitedSeconds: waited(),
      };
    const onExpected =
      options.expectedTaskDefinition === undefined || svc.taskDefinition === options.expectedTaskDefinition;
    if (
      primary &&
      onExpected &&
      deployments.length === 1 &&
      primary.rolloutState === 'COMPLETED' &&
      (primary.runningCount ?? 0) === (primary.desiredCount ?? 0)
    )
      return { stable: true, waitedSeconds: waited() };
    if (clock.now() - started + options.pollIntervalMs > options.timeoutMs)
      return { stable: false, waitedSeconds: waited() };
    await clock.sleep(options.pollIntervalMs);
  }
}
