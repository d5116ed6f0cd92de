import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { DeploymentRecord, EcsGateway } from './ecs';
import { label, sameDefinition } from './task-definition';

/** One deployment of the history with the task definition it deployed (when ECS still knows it). */
export interface Entry {
  readonly record: DeploymentRecord;
  readonly target?: TaskDefinition;
}

/**
 * A stretch of time the service ran one content: consecutive SUCCESSFUL deployments of equal content
 * (a re-registered copy, or a cdk deploy that changed nothing, does not count as a change).
 */
export interface Run {
  readonly content: TaskDefinition;
  /** The deployment that brought this content (the oldest of the stretch). */
  readonly start: Entry;
}

/** What ECS's history says about the service, the basis of every plan. */
export type Situation =
  /** A deployment is in progress; `knownBefore`: it deploys a revision that ran successfully before. */
  | { readonly kind: 'in-flight'; readonly entry: Entry; readonly knownBefore: boolean }
  /** ECS is stopping or rolling back a deployment itself. */
  | { readonly kind: 'undoing'; readonly entry: Entry }
  /** The newest deployment ended ROLLBACK_SUCCESSFUL: ECS (circuit breaker, alarms or a stop) undid it. */
  | { readonly kind: 'undone'; readonly entry: Entry }
  /** The newest deployment ended ROLLBACK_FAILED. */
  | { readonly kind: 'rollback-failed'; readonly entry: Entry }
  /** The latest change brought new content (or content newer than what ran before it): a release. */
  | { readonly kind: 'forward' }
  /** The latest change returned to content that ran before the content it replaced: a rollback. */
  | { readonly kind: 'backward' }
  /** Only one content in the history: nothing to return to. */
  | { readonly kind: 'single' }
  /** What runs is not what the history's newest successful deployment deployed. */
  | { readonly kind: 'unexplained' };

/** How many of the newest deployments are read for a plan (ECS keeps 90 days). */
export const HISTORY_DEPTH = 50;

const IN_FLIGHT = new Set(['PENDING', 'IN_PROGRESS']);
const UNDOING = new Set(['STOP_REQUESTED', 'ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS']);
const TERMINAL = new Set(['SUCCESSFUL', 'ROLLBACK_SUCCESSFUL', 'ROLLBACK_FAILED']);

/** The service's history, newest first, read once per plan. */
export class History {
  readonly runs: readonly Run[];

  private constructor(
    readonly current: TaskDefinition,
    readonly entries: readonly Entry[],
  ) {
    const runs: { content: TaskDefinition; start: Entry }[] = [];
    for (const entry of entries) {
      if (entry.record.status !== 'SUCCESSFUL' || !entry.target) continue;
      const last = runs[runs.length - 1];
      if (last && sameDefinition(last.content, entry.target)) last.start = entry;
      else runs.push({ content: entry.target, start: entry });
    }
    this.runs = runs;
  }

  static async read(ecs: EcsGateway, service: string): Promise<History> {
    const svc = await ecs.describeService(service);
    const current = await ecs.describeTaskDefinition(svc.taskDefinition!);
    const records = (await ecs.listDeployments(service)).slice(0, HISTORY_DEPTH);
    const revisions = await ecs.revisionTaskDefinitions(
      records.flatMap((r) => (r.targetRevisionArn ? [r.targetRevisionArn] : [])),
    );
    const entries: Entry[] = [];
    for (const record of records) {
      const arn = record.targetRevisionArn ? revisions.get(record.targetRevisionArn) : undefined;
      entries.push({ record, target: arn ? await ecs.describeTaskDefinition(arn) : undefined });
    }
    return new History(current, entries);
  }

  /** Index of the oldest run with `td`'s content (higher is older); -1 when it never ran. */
  firstRun(td: TaskDefinition): number {
    for (let i = this.runs.length - 1; i >= 0; i--) if (sameDefinition(this.runs[i].content, td)) return i;
    return -1;
  }

  /** Whether `td`'s content was deployed successfully at some point in the history. */
  ranBefore(td: TaskDefinition): boolean {
    return this.firstRun(td) !== -1;
  }

  situation(): Situation {
    const inFlight = this.entries.find((e) => IN_FLIGHT.has(e.record.status));
    if (inFlight)
      return {
        kind: 'in-flight',
        entry: inFlight,
        knownBefore: inFlight.target !== undefined && this.ranBefore(inFlight.target),
      };
    const undoing = this.entries.find((e) => UNDOING.has(e.record.status));
    if (undoing) return { kind: 'undoing', entry: undoing };
    const latest = this.entries.find((e) => TERMINAL.has(e.record.status));
    if (latest?.record.status === 'ROLLBACK_SUCCESSFUL') return { kind: 'undone', entry: latest };
    if (latest?.record.status === 'ROLLBACK_FAILED') return { kind: 'rollback-failed', entry: latest };
    if (this.runs.length === 0) return { kind: 'single' };
    if (!sameDefinition(this.runs[0].content, this.current)) return { kind: 'unexplained' };
    if (this.runs.length === 1) return { kind: 'single' };
    return this.firstRun(this.runs[0].content) > this.firstRun(this.runs[1].content)
      ? { kind: 'backward' }
      : { kind: 'forward' };
  }

  /**
   * What happened lately that a person should know before trusting a plan: deployments ECS undid,
   * failed rollbacks, and a revision that is back after it was rolled back from.
   */
  notes(): string[] {
    const notes: string[] = [];
    // Everything since the previous content started, or the newest few when there is none.
    const since = this.runs[1]?.start.record.createdAt?.getTime() ?? 0;
    const recent = this.entries.filter((e) => (e.record.createdAt?.getTime() ?? 0) >= since).slice(0, 10);
    const at = (d?: Date) => d?.toISOString() ?? 'an unknown time';
    const name = (e: Entry) => (e.target ? label(e.target.taskDefinitionArn!) : 'an unknown revision');
    for (const e of recent) {
      if (e.record.status === 'ROLLBACK_SUCCESSFUL')
        notes.push(
          `ECS already undid the deployment of ${name(e)} (${e.record.arn}, ROLLBACK_SUCCESSFUL at ${at(e.record.finishedAt)}): its circuit breaker, a deployment alarm or a stop returned the service to the revision before it.`,
        );
      if (e.record.status === 'ROLLBACK_FAILED')
        notes.push(
          `ECS's rollback of the deployment of ${name(e)} (${e.record.arn}) FAILED at ${at(e.record.finishedAt)}: check the service's tasks and events in the ECS console.`,
        );
    }
    const [now, before] = this.runs;
    if (now && before) {
      const first = this.firstRun(now.content);
      if (first > 1 && this.firstRun(now.content) < this.firstRun(before.content))
        notes.push(
          `${label(now.content.taskDefinitionArn!)} is back: it ran before (from ${at(this.runs[first].start.record.createdAt)}), was rolled back from, and deployment ${now.start.record.arn} brought it again at ${at(now.start.record.createdAt)}. The pinned tag in environments/ was probably never set back.`,
        );
      else if (first > 0 && this.firstRun(now.content) > this.firstRun(before.content))
        notes.push(
          `${label(now.content.taskDefinitionArn!)} is a return to an earlier version: deployment ${now.start.record.arn} went back from ${label(before.content.taskDefinitionArn!)} at ${at(now.start.record.createdAt)}.`,
        );
    }
    return notes;
  }
}
