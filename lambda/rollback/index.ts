import { ECSClient } from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { Logger } from '@aws-lambda-powertools/logger';
import { loadConfig, RollbackConfig } from './config';
import { EcsGateway } from './ecs';
import { InputError, NoRollbackTargetError } from './errors';
import { parseEvent } from './event';
import { systemClock, withRetry } from './retry';
import { runRollback } from './rollback';
import { RollbackReport, RollbackRequest } from './types';

const logger = new Logger({ serviceName: 'rollback' });
// maxAttempts 1: withRetry is the one retry layer, so attempts stay bounded.
const ecsClient = new ECSClient({ maxAttempts: 1 });
const snsClient = new SNSClient({ maxAttempts: 1 });

export type HandlerResult = RollbackReport | { readonly ignored: string };

function publisher(config: RollbackConfig) {
  return (subject: string, message: string) =>
    withRetry(
      () =>
        snsClient.send(new PublishCommand({ TopicArn: config.topicArn, Subject: subject, Message: message })),
      systemClock,
    ).then(() => undefined);
}

/** A failure must reach a person: an alarm will not invoke the function again. */
async function reportFailure(config: RollbackConfig, request: RollbackRequest, err: Error): Promise<void> {
  const nothingChanged = err instanceof InputError || err instanceof NoRollbackTargetError;
  if (request.trigger.kind !== 'alarm' && (request.dryRun || nothingChanged)) return;
  try {
    await publisher(config)(
      `[clever-better ${config.environmentName}] ${request.service} rollback FAILED`,
      [
        `The rollback of ${request.service} (${request.trigger.kind === 'alarm' ? `alarm ${request.trigger.alarmName}` : `requested by ${request.requestedBy}`}) failed:`,
        err.message,
        `Check the service in the ECS console, then run: npm run ops -- rollback --env ${config.environmentName} --service ${request.service}`,
      ].join('\n'),
    );
  } catch (publishErr) {
    logger.error('could not publish the failure notification', { error: publishErr as Error });
  }
}

export async function handler(event: unknown): Promise<HandlerResult> {
  const config = loadConfig();
  const parsed = parseEvent(event, config.alarmServices);
  if (parsed.kind === 'ignore') {
    logger.info('ignored', { reason: parsed.reason });
    return { ignored: parsed.reason };
  }
  const request = parsed.request;
  logger.info('rollback requested', { request });
  try {
    const report = await runRollback(request, {
      ecs: new EcsGateway(ecsClient, config.cluster, systemClock),
      config,
      clock: systemClock,
      publish: publisher(config),
    });
    logger.info('rollback finished', { report });
    return report;
  } catch (err) {
    logger.error('rollback failed', { error: err as Error });
    await reportFailure(config, request, err as Error);
    throw err;
  }
}
