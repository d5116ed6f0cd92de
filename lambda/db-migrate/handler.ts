import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { renderAdvice } from './advice';
import { onCustomResourceEvent, ProviderResponse } from './custom-resource';
import type { MigrationSignals } from './metrics';
import { OperatorResponse, parseOperatorRequest, RequestError, runOperatorRequest } from './operations';
import { MigrationFailedError, DirtyDatabaseError } from './runner';
import type { PostMigrationStep } from './post-migration';
import { OpenSession, withSession } from './session';

/** Time kept back from the Lambda timeout so the runner stops cleanly and the error reaches CloudFormation. */
export const SAFETY_MARGIN_MS = 30_000;

/** What the handler needs from the outside; index.ts wires the real ones, tests their own. */
export interface HandlerDependencies {
  readonly open: OpenSession;
  /** Environment name for the messages' `--env`. */
  readonly environmentName: string;
  readonly logInfo: (message: string, extra?: Record<string, unknown>) => void;
  /** Metrics for the alarms (index.ts: embedded metric format). @default nothing is published */
  readonly signals?: MigrationSignals;
  /** Steps after every deploy's migration (post-migration.ts), e.g. the service logins. @default none */
  readonly afterMigration?: readonly PostMigrationStep[];
}

/** The part of the Lambda context used here. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

function isCustomResourceEvent(event: unknown): event is CloudFormationCustomResourceEvent {
  const e = event as Partial<CloudFormationCustomResourceEvent> | null;
  return !!e && typeof e === 'object' && typeof e.RequestType === 'string' && 'ResourceProperties' in e;
}

/**
 * One function, two callers: the CDK Provider framework (CloudFormation custom-resource events) and
 * operators invoking it directly with `{ command, … }`.
 */
export function createHandler(deps: HandlerDependencies) {
  return async (event: unknown, context: InvocationContext): Promise<ProviderResponse | OperatorResponse> => {
    const deadline = Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
    const lines: string[] = [];
    const log = (line: string) => {
      lines.push(line);
      deps.logInfo('migrated', { step: line });
    };
    if (isCustomResourceEvent(event)) {
      deps.logInfo('custom resource event', {
        requestType: event.RequestType,
        properties: event.ResourceProperties,
      });
      return onCustomResourceEvent(event, deps.open, {
        environmentName: deps.environmentName,
        deadline,
        log,
        needsAttention: (what) => deps.signals?.needsAttention(what),
        partitions: (report) => deps.signals?.partitions(report),
        afterMigration: deps.afterMigration,
      });
    }
    if (event && typeof event === 'object' && 'command' in event) {
      const request = parseOperatorRequest(event as Record<string, unknown>);
      // bigint versions as strings: JSON (and so the logger) cannot hold a bigint.
      deps.logInfo('operator command', {
        request: JSON.parse(JSON.stringify(request, (_k, v) => (typeof v === 'bigint' ? String(v) : v))),
      });
      try {
        return await withSession(deps.open, { deadline, log }, (migrator) =>
          runOperatorRequest(request, migrator, lines, (report) => deps.signals?.partitions(report)),
        );
      } catch (err) {
        // golang-migrate's message first, then what the evidence says to do (same error type).
        if ((err instanceof DirtyDatabaseError || err instanceof MigrationFailedError) && err.advice) {
          err.message += ` ${renderAdvice(err.advice, (v) => `npm run ops -- migrate force ${v} --env ${deps.environmentName}`)}`;
        }
        throw err;
      }
    }
    throw new RequestError(
      `unrecognised event ${JSON.stringify(event)?.slice(0, 200)}: expected a CloudFormation custom-resource ` +
        'event (from the Provider framework) or an operator command. Fix: invoke with { "command": "version" } ' +
        '(or up, down + steps, goto + version, force + version)',
    );
  };
}
