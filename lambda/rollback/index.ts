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
// maxAttempts 1: withRetry is the one retry layer, so attempts and time stay bounded.
const ecsClient = new ECSClient({ maxAttempts: 1 });
const snsClient = new SNSClient({ maxAttempts: 1 });

/** Kept back from the Lambda timeout so the run always has time to report. */
const REPORT_MARGIN_MS = 10_000;

export type HandlerResult = RollbackReport | { readonly ignored: string };

/** The part of the Lambda context the handler reads. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

function publisher(config: RollbackConfig) {
  return (subject: string, message: string) =>
    withRetry(
      'SNS Publish',
      (abortSignal) =>
        snsClient.send(
          new PublishCommand({ TopicArn: config.topicArn, Subject: subject, Message: message }),
          {
            abortSignal,
          },
        ),
      systemClock,
    ).then(() => undefined);
}

/**
 * A failure before the service was changed must reach a person when nobody is watching (an alarm
 * will not invoke the function again) or when an acting request failed for a reason other than its
 * input. Every error thrown by runRollback is of that kind: after a change, it reports instead.
 */
async function reportFailure(config: RollbackConfig, request: RollbackRequest, err: Error): Promise<void> {
  const nothingChanged = err instanceof InputError || err instanceof NoRollbackTargetError;
  if (request.trigger.kind !== 'alarm' && (request.dryRun || nothingChanged)) return;
  try {
    await publisher(config)(
      `[clever-better ${config.environmentName}] ${request.service} rollback FAILED, nothing changed`,
      [
        `The rollback of ${request.service} (${request.trigger.kind === 'alarm' ? `alarm ${request.trigger.alarmName}` : `requested by ${request.requestedBy}`}) failed before it changed the service:`,
        err.message,
        `See what runs and what a rollback would do (a dry run, it changes nothing): npm run ops -- rollback --env ${config.environmentName} --service ${request.service}`,
      ].join('\n'),
    );
  } catch (publishErr) {
    logger.error('could not publish the failure notification', { error: publishErr as Error });
  }
}

export async function handler(event: unknown, context?: InvocationContext): Promise<HandlerResult> {
  const config = loadConfig();
  const parsed = parseEvent(event, config.alarmServices);
  if (parsed.kind === 'ignore') {
    logger.info('ignored', { reason: parsed.reason });
    return { ignored: parsed.reason };
  }
  const request = parsed.request;
  if (config.mode === 'plan' && !request.dryRun)
    throw new InputError(
      'dryRun',
      request.dryRun,
      `this is the planning function: it only answers dry runs; the ${request.service} rollback function acts (npm run ops -- rollback does this)`,
    );
  if (config.mode !== 'plan' && config.service && request.service !== config.service)
    throw new InputError(
      'service',
      request.service,
      `this function rolls back ${config.service} only; invoke the ${request.service} rollback function`,
    );
  logger.info('rollback requested', { request });
  let report: RollbackReport;
  try {
    report = await runRollback(request, {
      ecs: new EcsGateway(ecsClient, config.cluster, systemClock),
      config,
      clock: systemClock,
      publish: publisher(config),
      deadline: context ? Date.now() + context.getRemainingTimeInMillis() - REPORT_MARGIN_MS : undefined,
    });
  } catch (err) {
    logger.error('rollback failed', { error: err as Error });
    await reportFailure(config, request, err as Error);
    throw err;
  }
  logger.info('rollback finished', { report });
  // Nobody reads an alarm run's answer: an unpublished result must page through the errors alarm.
  if (report.notificationError && request.trigger.kind === 'alarm')
    throw new Error(
      `${report.summary}${report.moved ? ` ${request.service} now runs ${report.nowRuns}.` : ''} The notification failed: ${report.notificationError}. ` +
        'What the rollback did is as stated: do not repeat it.',
    );
  return report;
}
