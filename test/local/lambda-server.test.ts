import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { invokeFunction } from '../../lib/ops/invoke';
import { LambdaServer, startLambdaServer } from '../../lib/local/lambda-server';

let server: LambdaServer;
let lambda: LambdaClient;
const calls: unknown[] = [];

beforeAll(async () => {
  server = await startLambdaServer({
    echo: async (event) => {
      calls.push(event);
      return { got: event };
    },
    broken: async () => {
      throw Object.assign(new Error('step failed'), { name: 'EmergencyStopIncompleteError' });
    },
  });
  lambda = new LambdaClient({
    region: 'eu-west-1',
    endpoint: server.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});
afterAll(() => server.stop());

describe('the local Lambda endpoint (real @aws-sdk/client-lambda against it)', () => {
  test("returns the handler's value as the payload", async () => {
    const res = await invokeFunction(lambda, 'echo', { command: 'version' });
    expect(res).toEqual({ text: '{"got":{"command":"version"}}', json: { got: { command: 'version' } } });
  });

  test('accepts a function ARN and a qualifier-free name alike', async () => {
    const res = await invokeFunction(lambda, 'arn:aws:lambda:eu-west-1:123456789012:function:echo', {});
    expect(res.error).toBeUndefined();
  });

  test('reports a thrown error as Lambda does: FunctionError Unhandled with errorType and errorMessage', async () => {
    const res = await invokeFunction(lambda, 'broken', {});
    expect(res.error).toEqual({ errorType: 'EmergencyStopIncompleteError', errorMessage: 'step failed' });
  });

  test('an unknown function is ResourceNotFoundException naming the functions it runs', async () => {
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: expect.stringContaining('The local stand-in runs: echo, broken'),
    });
  });

  test('an Event invocation answers 202 at once and still runs the handler', async () => {
    calls.length = 0;
    const res = await lambda.send(
      new InvokeCommand({
        FunctionName: 'echo',
        InvocationType: 'Event',
        Payload: new TextEncoder().encode('{"async":true}'),
      }),
    );
    expect(res.StatusCode).toBe(202);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual([{ async: true }]);
  });
});
