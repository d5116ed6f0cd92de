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

/** Starts the front on 127.0.0.1 (a free port unless `port`), forwarding to `target`. */
export async function startEmulatorFront(target: string, port = 0): Promise<EmulatorFront> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      try {
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
