import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { Logger } from '@aws-lambda-powertools/logger';
import { parseEvent } from './event';
import { markHaltedByStop } from './marker';
import { EmergencyStopIncompleteError, StopReport } from './report';
import { settingsFromEnv } from './settings';
import { StopDeps } from './steps';
import { runEmergencyStop } from './stop';

const logger = new Logger({ serviceName: 'emergency-stop' });

let deps: StopDeps | undefined;
let cloudwatch: CloudWatchClient | undefined;

/**
 * The AWS clients' settings: one attempt per `send`. Each step retries transient failures itself
 * until its own deadline (retry.ts); the SDK's default of three attempts would use a fixed share of
 * the step and then give up.
 */
export const CLIENT_CONFIG = { maxAttempts: 1 } as const;

/** Clients built once per container; settings read when first needed so a bad one fails the invocation. */
function dependencies(): StopDeps {
  return (deps ??= {
    settings: settingsFromEnv(),
    secrets: new SecretsManagerClient(CLIENT_CONFIG),
    ecs: new ECSClient(CLIENT_CONFIG),
    sns: new SNSClient(CLIENT_CONFIG),
  });
}

/**
 * Emergency stop: invoked by a trigger alarm (directly or through SNS) or by
 * `npm run ops -- emergency-stop`. Returns the report; throws when any step failed, so Lambda's
 * asynchronous retry runs the whole stop again.
 */
export async function handler(event: unknown): Promise<StopReport | { ignored: string }> {
  const parsed = parseEvent(event);
  if (parsed.action === 'ignore') {
    logger.info('Nothing to stop', { why: parsed.why });
    return { ignored: parsed.why };
  }
  logger.warn('Emergency stop requested', { trigger: parsed.trigger });
  // The marker that suppresses the stop's own symptoms (docs/runbooks.md "Trading halted"), beside the steps.
  const marker = markHaltedByStop((cloudwatch ??= new CloudWatchClient(CLIENT_CONFIG)));
  const report = await runEmergencyStop(parsed.trigger, dependencies());
  logger.info('Halted marker', { marker: await marker });
  if (!report.ok) {
    logger.error('Emergency stop incomplete', { report });
    throw new EmergencyStopIncompleteError(report);
  }
  logger.info('Emergency stop complete', { report });
  return report;
}
