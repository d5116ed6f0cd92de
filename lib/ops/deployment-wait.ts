import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';

/** How long `resume` waits for its deployment, and how often it looks. Replaceable in tests. */
export const deploymentWaitTiming = {
  /** Milliseconds between DescribeServices calls. @default 15000 */
  pollMs: 15_000,
  /**
   * Milliseconds before giving up waiting (the deployment itself continues in ECS). Above the
   * circuit breaker's time to trip on a bot that never gets healthy. @default 1200000 (20 minutes)
   */
  timeoutMs: 20 * 60_000,
};

/** Outcome of one ECS deployment as `resume` reports it. */
export interface DeploymentOutcome {
  readonly state: 'COMPLETED' | 'FAILED' | 'TIMED_OUT';
  readonly detail: string;
}

/**
 * Waits until deployment `deploymentId` of the service reaches COMPLETED or FAILED (ECS's
 * `rolloutState`, which the circuit breaker sets), or the deadline passes. A failed
 * DescribeServices call is retried at the next poll until the deadline: it says nothing about the
 * deployment.
 */
export async function waitForDeployment(
  ecs: ECSClient,
  cluster: string,
  service: string,
  deploymentId: string,
  progress: (line: string) => void,
): Promise<DeploymentOutcome> {
  const deadline = Date.now() + deploymentWaitTiming.timeoutMs;
  let last = '';
  let lastError = '';
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const res = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
      const d = res.services?.[0]?.deployments?.find((x) => x.id === deploymentId);
      if (!d) {
        // ECS drops a deployment from the list once another replaced it: it did not finish.
        return {
          state: 'FAILED',
          detail: `deployment ${deploymentId} is gone (replaced by another deployment)`,
        };
      }
      const line = `${deploymentId}: ${d.rolloutState} (${d.runningCount ?? 0}/${d.desiredCount ?? 0} running, ${d.failedTasks ?? 0} failed)`;
      if (line !== last) progress(line);
      last = line;
      if (d.rolloutState === 'COMPLETED' || d.rolloutState === 'FAILED')
        return {
          state: d.rolloutState,
          // ECS keeps an earlier state's reason ("… in progress.") on a COMPLETED deployment.
          detail: `${line}${d.rolloutStateReason && d.rolloutState === 'FAILED' ? `: ${d.rolloutStateReason}` : ''}`,
        };
    } catch (err) {
      lastError = `${(err as { name?: string }).name}: ${(err as Error).message}`;
    }
    if (Date.now() + deploymentWaitTiming.pollMs > deadline)
      return {
        state: 'TIMED_OUT',
        detail: `${last || deploymentId} after ${attempts} looks${lastError ? ` (last error ${lastError})` : ''}`,
      };
    await new Promise((r) => setTimeout(r, deploymentWaitTiming.pollMs));
  }
}
