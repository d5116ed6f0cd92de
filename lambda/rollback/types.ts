/**
 * The rollback function's contract: what it is asked to do and what it reports. The ops command
 * (lib/ops/rollback.ts) sends a {@link RollbackInput} and prints the {@link RollbackReport}.
 */

/** The two services the function may roll back, by their ECS service names. */
export const SERVICE_KEYS = ['bot', 'ml-service'] as const;
export type ServiceKey = (typeof SERVICE_KEYS)[number];

/** A direct invocation (the ops command, or `aws lambda invoke`). */
export interface RollbackInput {
  /** ECS service to roll back. */
  readonly service: ServiceKey;
  /** Only work out and report the plan; change nothing, notify nobody. @default false */
  readonly dryRun?: boolean;
  /** Who asked, for the notification (the ops command sends the local user name). */
  readonly requestedBy?: string;
  /** Why, for the notification. */
  readonly reason?: string;
  /**
   * Task-definition ARN to roll back to, as a dry run reported it. When set, the function rolls to
   * exactly this revision (it must be the target of a successful deployment of the service) and
   * does nothing if the service already runs it: running the same request twice is safe.
   */
  readonly targetTaskDefinition?: string;
  /**
   * Task-definition ARN the dry run saw running. When set and the service runs something else now,
   * the function refuses instead of acting on a stale plan.
   */
  readonly expectedCurrentTaskDefinition?: string;
}

/** What started a run. */
export type Trigger =
  | { readonly kind: 'manual' }
  | { readonly kind: 'alarm'; readonly alarmName: string; readonly stateChangedAt: Date };

/** A validated request, whatever the event shape it came from. */
export interface RollbackRequest {
  readonly service: ServiceKey;
  readonly dryRun: boolean;
  readonly requestedBy: string;
  readonly reason?: string;
  readonly targetTaskDefinition?: string;
  readonly expectedCurrentTaskDefinition?: string;
  readonly trigger: Trigger;
}

/** One container image of a revision, with its tag when the image is referenced by tag. */
export interface ImageRef {
  readonly container: string;
  readonly image: string;
  /** The tag after `:`; undefined for a digest reference (`@sha256:…`). */
  readonly tag?: string;
}

/** A task-definition revision as the report shows it. */
export interface RevisionInfo {
  readonly taskDefinitionArn: string;
  /** `family:revision`, e.g. `clever-better-bot:42`. */
  readonly label: string;
  readonly images: readonly ImageRef[];
}

/**
 * How a run ended:
 * - `planned`: dry run, the plan is in the report;
 * - `rolled-back`: UpdateService moved the service to the target (see `stable`);
 * - `deployment-stopped`: an in-progress deployment was stopped with ROLLBACK;
 * - `already-on-target`: the service already runs the requested target; nothing was called;
 * - `already-rolling-back`: ECS is already stopping or rolling back a deployment, or this alarm was
 *   already acted on; nothing was called;
 * - `refused`: the function decided a person must act (stale plan, alarm outside its window, an
 *   automatic roll-forward); nothing was changed.
 */
export type Outcome =
  'planned' | 'rolled-back' | 'deployment-stopped' | 'already-on-target' | 'already-rolling-back' | 'refused';

/** The action a plan takes. */
export type Action = 'update-service' | 'stop-deployment' | 'none';

/** What the function did or would do. Returned to the caller and published on the on-call topic. */
export interface RollbackReport {
  readonly environment: string;
  readonly cluster: string;
  readonly service: ServiceKey;
  readonly dryRun: boolean;
  readonly trigger: string;
  readonly requestedBy: string;
  readonly reason?: string;
  readonly action: Action;
  readonly outcome: Outcome;
  /** One line saying what happened or would happen. */
  readonly summary: string;
  /** The revision running before (for a stopped deployment: the one being deployed). */
  readonly from?: RevisionInfo;
  /** The revision rolled back to (for a stopped deployment: the one ECS returns to). */
  readonly to?: RevisionInfo;
  /** Set when the target was INACTIVE and was registered again as a new revision. */
  readonly reregisteredAs?: string;
  /** Whether the target is INACTIVE (a dry run reports that it would be registered again). */
  readonly targetInactive?: boolean;
  /** Deployment stopped (or that would be stopped) with StopServiceDeployment ROLLBACK. */
  readonly stoppedDeployment?: string;
  /** After acting: whether the service reached a steady state within the wait bound. */
  readonly stable?: boolean;
  /** Seconds spent waiting for a steady state. */
  readonly waitedSeconds?: number;
  /**
   * What to change in `environments/<env>.ts` so the next deploy does not roll forward again.
   * Present whenever the run rolled back or would roll back.
   */
  readonly driftNote?: string;
  /** Things a person should read before trusting the result. */
  readonly warnings: readonly string[];
  /** Whether a notification went to the on-call topic. */
  readonly notified: boolean;
}
