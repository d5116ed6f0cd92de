import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

/** What a synchronous invocation returned: the raw text, its JSON if it parses, and the function's error. */
export interface Invocation {
  readonly text: string;
  readonly json: unknown;
  /** Set when the function threw: Lambda's `{ errorType, errorMessage }`. */
  readonly error?: { readonly errorType?: string; readonly errorMessage?: string };
}

/**
 * Invokes `functionName` synchronously with `payload` as JSON, as every ops command does, and decodes
 * the answer. Never throws for a function error: each command words that failure for its own runbook.
 */
export async function invokeFunction(
  lambda: LambdaClient,
  functionName: string,
  payload: unknown,
): Promise<Invocation> {
  const res = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  const text = res.Payload ? new TextDecoder().decode(res.Payload) : '';
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return res.FunctionError
    ? { text, json, error: (json as Invocation['error']) ?? { errorMessage: text } }
    : { text, json };
}
