import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
  RegisterTaskDefinitionCommandInput,
  Service,
  ServiceDeploymentBrief,
  StopServiceDeploymentCommand,
  TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { Clock, DEFAULT_RETRY, RetryPolicy, withRetry } from './retry';

/** One entry of the service's deployment history. */
export interface DeploymentRecord {
  readonly arn: string;
  readonly status: string;
  readonly createdAt?: Date;
  readonly finishedAt?: Date;
  readonly targetRevisionArn?: string;
}

/** ListServiceDeployments page size (the API maximum) and how many pages to read at most. */
const PAGE_SIZE = 100;
const MAX_PAGES = 3;
/** DescribeServiceRevisions accepts at most 20 ARNs per call. */
const REVISIONS_PER_CALL = 20;

/**
 * The ECS calls the rollback makes, each with its own timeout and retried on throttling until its
 * step's deadline (never past the run's `deadline`), with task definitions and service revisions
 * cached for the run (they are immutable).
 */
export class EcsGateway {
  private readonly taskDefinitions = new Map<string, Promise<TaskDefinition>>();
  private readonly revisions = new Map<string, string>();
  /** Epoch milliseconds after which no call may still be running: the run must keep time to report. */
  deadline = Number.POSITIVE_INFINITY;

  constructor(
    private readonly client: ECSClient,
    readonly cluster: string,
    private readonly clock: Clock,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  private call<T>(step: string, fn: (options: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> {
    return withRetry(step, (signal) => fn({ abortSignal: signal }), this.clock, this.retry, this.deadline);
  }

  async describeService(service: string): Promise<Service> {
    const res = await this.call('DescribeServices', (o) =>
      this.client.send(new DescribeServicesCommand({ cluster: this.cluster, services: [service] }), o),
    );
    const found = res.services?.find((s) => s.serviceName === service);
    if (!found || found.status !== 'ACTIVE')
      throw new Error(
        `Service ${service} is not ACTIVE in cluster ${this.cluster} (${found?.status ?? res.failures?.[0]?.reason ?? 'not found'}): nothing was changed`,
      );
    return found;
  }

  /** The deployment history, newest first (at most {@link MAX_PAGES} × {@link PAGE_SIZE} entries). */
  async listDeployments(service: string): Promise<DeploymentRecord[]> {
    const briefs: ServiceDeploymentBrief[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.call('ListServiceDeployments', (o) =>
        this.client.send(
          new ListServiceDeploymentsCommand({
            cluster: this.cluster,
            service,
            maxResults: PAGE_SIZE,
            nextToken,
          }),
          o,
        ),
      );
      briefs.push(...(res.serviceDeployments ?? []));
      nextToken = res.nextToken;
      if (!nextToken) break;
    }
    const time = (d: ServiceDeploymentBrief) => (d.createdAt ?? d.startedAt)?.getTime() ?? 0;
    return briefs
      .filter((d) => d.serviceDeploymentArn && d.status)
      .sort((a, b) => time(b) - time(a))
      .map((d) => ({
        arn: d.serviceDeploymentArn!,
        status: d.status!,
        createdAt: d.createdAt ?? d.startedAt,
        finishedAt: d.finishedAt,
        targetRevisionArn: d.targetServiceRevisionArn,
      }));
  }

  /** A deployment's status now, and the service revision it started from (the one a ROLLBACK returns to). */
  async describeDeployment(
    deploymentArn: string,
  ): Promise<{ status?: string; sourceRevisionArn?: string } | undefined> {
    const res = await this.call('DescribeServiceDeployments', (o) =>
      this.client.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [deploymentArn] }), o),
    );
    const d = res.serviceDeployments?.[0];
    return d && { status: d.status, sourceRevisionArn: d.sourceServiceRevisions?.[0]?.arn };
  }

  /** Task-definition ARNs of the given service revisions (looked up 20 at a time, then cached). */
  async revisionTaskDefinitions(revisionArns: readonly string[]): Promise<Map<string, string>> {
    const missing = [...new Set(revisionArns)].filter((arn) => !this.revisions.has(arn));
    for (let i = 0; i < missing.length; i += REVISIONS_PER_CALL) {
      const batch = missing.slice(i, i + REVISIONS_PER_CALL);
      const res = await this.call('DescribeServiceRevisions', (o) =>
        this.client.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: batch }), o),
      );
      for (const rev of res.serviceRevisions ?? [])
        if (rev.serviceRevisionArn && rev.taskDefinition)
          this.revisions.set(rev.serviceRevisionArn, rev.taskDefinition);
    }
    const out = new Map<string, string>();
    for (const arn of revisionArns) {
      const td = this.revisions.get(arn);
      if (td) out.set(arn, td);
    }
    return out;
  }

  /** Describes a task definition; INACTIVE revisions are still described. */
  describeTaskDefinition(arn: string): Promise<TaskDefinition> {
    let hit = this.taskDefinitions.get(arn);
    if (!hit) {
      hit = this.call('DescribeTaskDefinition', (o) =>
        this.client.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }), o),
      ).then((res) => {
        if (!res.taskDefinition) throw new Error(`DescribeTaskDefinition returned nothing for ${arn}`);
        return res.taskDefinition;
      });
      // A failed lookup must not poison the cache for a later attempt.
      hit.catch(() => this.taskDefinitions.delete(arn));
      this.taskDefinitions.set(arn, hit);
    }
    return hit;
  }

  async registerTaskDefinition(input: RegisterTaskDefinitionCommandInput): Promise<TaskDefinition> {
    const res = await this.call('RegisterTaskDefinition', (o) =>
      this.client.send(new RegisterTaskDefinitionCommand(input), o),
    );
    if (!res.taskDefinition?.taskDefinitionArn)
      throw new Error(`RegisterTaskDefinition returned no ARN for ${input.family}`);
    return res.taskDefinition;
  }

  /** Points the service at `taskDefinition`. Never passes a desired count: an emergency stop's 0 stays 0. */
  async updateService(service: string, taskDefinition: string): Promise<void> {
    await this.call('UpdateService', (o) =>
      this.client.send(new UpdateServiceCommand({ cluster: this.cluster, service, taskDefinition }), o),
    );
  }

  async stopDeploymentWithRollback(deploymentArn: string): Promise<void> {
    await this.call('StopServiceDeployment', (o) =>
      this.client.send(
        new StopServiceDeploymentCommand({ serviceDeploymentArn: deploymentArn, stopType: 'ROLLBACK' }),
        o,
      ),
    );
  }
}
