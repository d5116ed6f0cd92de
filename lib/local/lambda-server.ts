import * as http from 'node:http';
import { listenOnLoopback, LocalServer } from './listen';

/** A function the server runs in-process: the deployed handler, called as Lambda would call it. */
export type LocalFunction = (event: unknown) => Promise<unknown>;

/** A running stand-in for the Lambda Invoke API. */
export type LambdaServer = LocalServer;

const INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/**
 * Serves Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`) on 127.0.0.1 and runs
 * each named function in this process, so the real `@aws-sdk/client-lambda` calls of `ops` reach the
 * real handlers (AWS_ENDPOINT_URL_LAMBDA). moto can list Lambda functions but runs them only in
 * Docker, which the local stand-in does without. Answers as Lambda does: the handler's return value
 * as the payload, or `X-Amz-Function-Error: Unhandled` with `{ errorType, errorMessage }`.
 */
export async function startLambdaServer(
  functions: Readonly<Record<string, LocalFunction>>,
  port = 0,
): Promise<LambdaServer> {
  const server = http.createServer((req, res) => {
    const match = INVOKE.exec(req.url?.split('?')[0] ?? '');
    const name = match ? decodeURIComponent(match[1]).split(':').pop()! : '';
    const fn = functions[name];
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      if (req.method !== 'POST' || !fn) {
        return reply(
          404,
          {
            Type: 'User',
            message: `Function not found: ${name || req.url}. The local stand-in runs: ${Object.keys(functions).join(', ')}`,
          },
          { 'x-amzn-errortype': 'ResourceNotFoundException' },
        );
      }
      let event: unknown;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        event = text ? JSON.parse(text) : {};
      } catch {
        return reply(
          400,
          { Type: 'User', message: 'Could not parse request body into json' },
          {
            'x-amzn-errortype': 'InvalidRequestContentException',
          },
        );
      }
      const asynchronous = req.headers['x-amz-invocation-type'] === 'Event';
      const run = fn(event).then(
        (result) => ({ ok: true as const, result }),
        (err: Error) => ({ ok: false as const, err }),
      );
      if (asynchronous) return reply(202, undefined);
      void run.then((outcome) =>
        outcome.ok
          ? reply(200, outcome.result ?? null)
          : reply(
              200,
              {
                errorType: outcome.err?.name ?? 'Error',
                errorMessage: outcome.err?.message ?? String(outcome.err),
              },
              { 'x-amz-function-error': 'Unhandled' },
            ),
      );
    });
  });
  return listenOnLoopback(server, port);
}
