/**
 * The rollback function's contract: what it is asked to do and what it reports. The ops command
 * (lib/ops/rollback.ts) sends a {@link RollbackInput} and prints the {@link RollbackReport}.
 */

/** The two services the function may roll back, by their ECS service names. */
export const SERVICE_KEYS = ['bot', 'ml-service'] as const;
export type ServiceKey = (typeof SERVICE_KEYS)[number];

/**
 * A plan as a dry run returned it, sent back with the request that acts on it: the function acts only
 * while a fresh plan has the same `from` and `to`, so a plan never acts on a service that moved.
 */
export interface PlanRef {
  /** How the plan rolls back: deploy `to` over what runs, or stop the deployment of `from`. */
  readonly action: 'update-service' | 'stop-deployment';
  /** Task-definition ARN the plan was made against: what runs, or what the in-flight deployment deploys. */
  readonly from: string;
  /** Task-definition ARN it returns to. */
  readonly to: string;
  /** For a stop: the deployment it stops. */
  readonly deployment?: string;
}

/** A direct invocation (the ops command, or `aws lambda invoke`). Any other field is an error. */
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
   * The plan a dry run reported. When set, the function acts only if the plan is still what it would
   * do now; otherwise it changes nothing and reports the new plan. @default act on a fresh plan
   */
  readonly plan?: PlanRef;
  /**
   * An explicit revision to go to instead of the automatic choice: how to roll FORWARD again, or go
   * further back than one step. A task-definition ARN, `family:revision` or a revision number of
   * the service's family, which must have deployed successfully before. @default automatic choice
   */
  readonly to?: string;
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
  readonly plan?: PlanRef;
  readonly to?: string;
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
 * - `planned`: dry run with something to do; the plan is in the report;
 * - `rolled-back`: the service moved to the target and is stable there;
 * - `rolled-back-unstable`: the service moved to the target, but was not (or could not be seen to be)
 *   stable within the wait bound; ECS carries on;
 * - `rollback-failed`: the service moved, then ECS reported the rollback failed or undid it (circuit
 *   breaker), or something else replaced it: `moved` and the summary say what runs now;
 * - `nothing-to-do`: nothing was changed; `why` says why.
 */
export type Outcome =
  'planned' | 'rolled-back' | 'rolled-back-unstable' | 'rollback-failed' | 'nothing-to-do';

/**
 * Why nothing was done:
 * - `already-rolled-back`: the latest change to the service already was a return to an earlier revision;
 * - `undone-by-ecs`: ECS's circuit breaker or deployment alarms already undid the latest deployment;
 * - `rollback-in-progress`: a deployment back to a revision that ran before, or ECS's own rollback, is
 *   in progress (stopping it would roll forward);
 * - `already-on-target`: the service already runs the revision asked for;
 * - `stale-plan`: the service changed since the plan; the report holds the new plan;
 * - `needs-a-person`: an automatic run found something only a person should decide;
 * - `no-earlier-revision`: the history holds nothing to return to.
 */
export type NothingToDo =
  | 'already-rolled-back'
  | 'undone-by-ecs'
  | 'rollback-in-progress'
  | 'already-on-target'
  | 'stale-plan'
  | 'needs-a-person'
  | 'no-earlier-revision';

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
  /** Set when `outcome` is `nothing-to-do`. */
  readonly why?: NothingToDo;
  /** One line saying what happened or would happen. */
  readonly summary: string;
  /** What ECS's history says happened before this run (an undone deployment, a failed rollback, a re-deploy). */
  readonly history: readonly string[];
  /** The plan to send back to act on it (dry runs, and stale-plan refusals: the new plan). */
  readonly plan?: PlanRef;
  /** `forward` only for an explicit `to` newer than what runs. */
  readonly direction?: 'back' | 'forward';
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
  /** Whether this run changed the service (UpdateService or StopServiceDeployment was accepted). */
  readonly moved: boolean;
  /** Label of the revision the service runs at the end of the run, when known. */
  readonly nowRuns?: string;
  /** After acting: whether the service reached a steady state within the wait bound. */
  readonly stable?: boolean;
  /** Seconds spent waiting for a steady state. */
  readonly waitedSeconds?: number;
  /**
   * What to change in `environments/<env>.ts` so the next deploy does not undo the rollback.
   * Present whenever the run rolled back or would roll back.
   */
  readonly driftNote?: string;
  /** Things a person should read before trusting the result. */
  readonly warnings: readonly string[];
  /** Whether a notification went to the on-call topic. */
  readonly notified: boolean;
  /** Set when publishing the notification failed (after everything else was done). */
  readonly notificationError?: string;
}

/**
 * Stack outputs naming the rollback functions: one that only plans (dry runs never wait behind a
 * rollback), and one per service that acts, one run at a time.
 */
export const ROLLBACK_OUTPUTS = {
  plan: 'RollbackPlanFunctionName',
  bot: 'RollbackBotFunctionName',
  'ml-service': 'RollbackMlServiceFunctionName',
} as const satisfies Record<'plan' | ServiceKey, string>;
