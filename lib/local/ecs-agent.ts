import * as http from 'node:http';
import { listenOnLoopback, LocalServer } from './listen';

/** A running front of the emulator. */
export type EmulatorFront = LocalServer;

type Deployment = {
  desiredCount?: number;
  runningCount?: number;
  pendingCount?: number;
  rolloutState?: string;
};
type Service = Deployment & { deployments?: Deployment[] };

/**
 * What an ECS agent would do for the stand-in: moto keeps every service's tasks pending and every
 * deployment IN_PROGRESS, since it runs no containers. The local stand-in has no containers either,
 * so its "tasks" start at once: this front forwards every request to moto and answers ECS
 * DescribeServices as a settled service (running = desired, rollout COMPLETED). Without it `ops
 * resume`, which waits for its deployment, would wait until its own timeout.
 */
export function settle(body: string): string {
  const parsed = JSON.parse(body) as { services?: Service[] };
  for (const svc of parsed.services ?? []) {
    const settleOne = (d: Deployment) => {
      d.runningCount = d.desiredCount ?? 0;
      d.pendingCount = 0;
      if (d.rolloutState === 'IN_PROGRESS') d.rolloutState = 'COMPLETED';
    };
    settleOne(svc);
    svc.deployments?.forEach(settleOne);
  }
  return JSON.stringify(parsed);
}

/** One service deployment as ECS's ListServiceDeployments / DescribeServiceDeployments report it. */
interface ServiceDeployment {
  readonly serviceDeploymentArn: string;
  readonly serviceArn: string;
  readonly clusterArn: string;
  readonly status: 'SUCCESSFUL';
  readonly createdAt: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly targetServiceRevisionArn: string;
  readonly sourceServiceRevisionArn?: string;
  readonly taskDefinition: string;
}

/**
 * ECS's service-deployment history, which moto lacks (ListServiceDeployments,
 * DescribeServiceDeployments, DescribeServiceRevisions): each CreateService or UpdateService that
 * changes the task definition (or forces a new deployment) is one deployment, SUCCESSFUL at once
 * because the stand-in's tasks start at once. The rollback functions read exactly these calls
 * (lambda/rollback/ecs.ts), so `ops rollback` runs locally against what the stand-in deployed.
 */
export class DeploymentHistory {
  private readonly deployments: ServiceDeployment[] = [];
  private sequence = 0;

  /** Records the answer of a CreateService/UpdateService that ECS accepted. */
  record(
    request: { forceNewDeployment?: boolean },
    answer: { service?: { serviceArn?: string; clusterArn?: string; taskDefinition?: string } },
  ): void {
    const svc = answer.service;
    if (!svc?.serviceArn || !svc.taskDefinition) return;
    const previous = this.of(svc.serviceArn)[0];
    if (previous && previous.taskDefinition === svc.taskDefinition && !request.forceNewDeployment) return;
    const n = ++this.sequence;
    const path = svc.serviceArn.split(':service/')[1];
    const prefix = svc.serviceArn.split(':service/')[0];
    // Whole seconds, as ECS's JSON protocol sends times; strictly increasing so the order is certain.
    const at = Math.floor(Date.now() / 1000) + n;
    this.deployments.push({
      serviceDeploymentArn: `${prefix}:service-deployment/${path}/local-${n}`,
      serviceArn: svc.serviceArn,
      clusterArn: svc.clusterArn ?? '',
      status: 'SUCCESSFUL',
      createdAt: at,
      startedAt: at,
      finishedAt: at,
      targetServiceRevisionArn: `${prefix}:service-revision/${path}/local-${n}`,
      sourceServiceRevisionArn: previous?.targetServiceRevisionArn,
      taskDefinition: svc.taskDefinition,
    });
  }

  /** The service's deployments, newest first. */
  private of(serviceArn: string): ServiceDeployment[] {
    return this.deployments.filter((d) => d.serviceArn === serviceArn).reverse();
  }

  /** The answer to one of the three calls moto lacks, or undefined for any other call. */
  answer(operation: string, input: Record<string, unknown>): unknown {
    if (operation === 'ListServiceDeployments') {
      const service = String(input.service);
      const found = this.deployments
        .filter((d) => d.serviceArn === service || d.serviceArn.endsWith(`/${service}`))
        .reverse();
      return {
        serviceDeployments: found.map((d) => ({
          serviceDeploymentArn: d.serviceDeploymentArn,
          serviceArn: d.serviceArn,
          clusterArn: d.clusterArn,
          status: d.status,
          createdAt: d.createdAt,
          startedAt: d.startedAt,
          finishedAt: d.finishedAt,
          targetServiceRevisionArn: d.targetServiceRevisionArn,
        })),
      };
    }
    if (operation === 'DescribeServiceDeployments') {
      const arns = (input.serviceDeploymentArns as string[] | undefined) ?? [];
      return {
        serviceDeployments: this.deployments
          .filter((d) => arns.includes(d.serviceDeploymentArn))
          .map((d) => ({
            ...d,
            targetServiceRevision: { arn: d.targetServiceRevisionArn },
            sourceServiceRevisions: d.sourceServiceRevisionArn ? [{ arn: d.sourceServiceRevisionArn }] : [],
          })),
        failures: [],
      };
    }
    if (operation === 'DescribeServiceRevisions') {
      const arns = (input.serviceRevisionArns as string[] | undefined) ?? [];
      return {
        serviceRevisions: this.deployments
          .filter((d) => arns.includes(d.targetServiceRevisionArn))
          .map((d) => ({
            serviceRevisionArn: d.targetServiceRevisionArn,
            serviceArn: d.serviceArn,
            clusterArn: d.clusterArn,
            taskDefinition: d.taskDefinition,
            createdAt: d.createdAt,
          })),
        failures: [],
      };
    }
    return undefined;
  }
}

/** Starts the front on 127.0.0.1 (a free port unless `port`), forwarding to `target`. */
export async function startEmulatorFront(target: string, port = 0): Promise<EmulatorFront> {
  const history = new DeploymentHistory();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      try {
        const operation =
          String(req.headers['x-amz-target'] ?? '')
            .split('.')
            .pop() ?? '';
        const input = () =>
          JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        const local = String(req.headers['x-amz-target'] ?? '').startsWith('AmazonEC2ContainerService')
          ? history.answer(operation, input())
          : undefined;
        if (local !== undefined) {
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify(local));
          return;
        }
        const upstream = await fetch(`${target}${req.url}`, {
          method: req.method,
          headers: Object.fromEntries(
            Object.entries(req.headers).filter(([k, v]) => typeof v === 'string' && k !== 'host'),
          ) as Record<string, string>,
          body: req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks),
        });
        let body: Buffer = Buffer.from(await upstream.arrayBuffer());
        if (upstream.ok && String(req.headers['x-amz-target'] ?? '').endsWith('.DescribeServices'))
          body = Buffer.from(settle(body.toString('utf8')));
        if (
          upstream.ok &&
          String(req.headers['x-amz-target'] ?? '').startsWith('AmazonEC2ContainerService') &&
          (operation === 'CreateService' || operation === 'UpdateService')
        )
          history.record(input(), JSON.parse(body.toString('utf8')));
        const headers: Record<string, string> = {};
        upstream.headers.forEach((v, k) => {
          if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k))
            headers[k] = v;
        });
        res.writeHead(upstream.status, headers);
        res.end(body);
      } catch (err) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`local emulator front: ${(err as Error).message}`);
      }
    });
  });
  return listenOnLoopback(server, port);
}
