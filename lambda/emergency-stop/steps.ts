import { UpdateServiceCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  BetfairClient,
  BetfairError,
  CancelExecutionReport,
  CurrentOrderSummary,
  parseBetfairSecret,
} from './betfair';
import { Budget, BUDGET } from './budget';
import { Trigger } from './event';
import { BetsDetails, formatNotification, StepOutcome } from './report';
import { secretLabel, StopSettings } from './settings';
import { errorMessage, sleep } from './time';

/** What the steps use; tests pass mocked clients, a fake clock and short budgets. */
export interface StopDeps {
  readonly settings: StopSettings;
  readonly secrets: SecretsManagerClient;
  readonly ecs: ECSClient;
  readonly sns: SNSClient;
  readonly now?: () => Date;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly budget?: Partial<Budget>;
  /** Extra trusted CA for Betfair requests (tests with a local TLS server only). */
  readonly betfairCa?: string;
}

/** What a step returns when it ran to the end; a step that cannot finish throws instead. */
export interface StepResult {
  readonly ok: boolean;
  readonly summary: string;
  readonly details?: Record<string, unknown>;
}

export function budgetOf(deps: StopDeps): Budget {
  return { ...BUDGET, ...deps.budget };
}

/**
 * Step 1: `live_trading_enabled: false` plus when, why and by whom, every other key kept. A config
 * already stopped (false with `stopped_at`) is left as it is, so a retry or a second alarm writes
 * nothing and the first stop's record stays. Never writes true.
 */
export async function disableTrading(
  deps: StopDeps,
  trigger: Trigger,
  signal: AbortSignal,
): Promise<StepResult> {
  const { configSecretId } = deps.settings;
  const label = secretLabel(configSecretId);
  const current = await deps.secrets.send(new GetSecretValueCommand({ SecretId: configSecretId }), {
    abortSignal: signal,
  });
  let config: Record<string, unknown> = {};
  let note = '';
  try {
    const parsed: unknown = JSON.parse(current.SecretString ?? '');
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    config = parsed as Record<string, unknown>;
  } catch {
    // Stopping matters more than an unreadable value, which stays readable as version AWSPREVIOUS.
    note = '; the previous value was not a JSON object and is kept as version AWSPREVIOUS';
  }
  if (config.live_trading_enabled === false && typeof config.stopped_at === 'string') {
    return {
      ok: true,
      summary: `${label} already has live_trading_enabled=false (stopped at ${config.stopped_at} by ${String(config.stopped_by)}); left unchanged`,
      details: { alreadyStopped: true },
    };
  }
  const next = {
    ...config,
    live_trading_enabled: false,
    stopped_at: (deps.now ?? (() => new Date()))().toISOString(),
    stopped_reason: trigger.reason,
    stopped_by: trigger.requestedBy,
  };
  const put = await deps.secrets.send(
    new PutSecretValueCommand({ SecretId: configSecretId, SecretString: JSON.stringify(next) }),
    { abortSignal: signal },
  );
  return {
    ok: true,
    summary: `live_trading_enabled=false written to ${label} (version ${put.VersionId ?? 'unknown'})${note}`,
    details: { alreadyStopped: false, versionId: put.VersionId },
  };
}

/** Step 2: the bot service to zero tasks. The template has no DesiredCount, so no deploy undoes it. */
export async function scaleBotToZero(deps: StopDeps, signal: AbortSignal): Promise<StepResult> {
  const { clusterName, botServiceName } = deps.settings;
  const res = await deps.ecs.send(
    new UpdateServiceCommand({ cluster: clusterName, service: botServiceName, desiredCount: 0 }),
    { abortSignal: signal },
  );
  const running = res.service?.runningCount;
  return {
    ok: true,
    summary: `${clusterName}/${botServiceName} desiredCount 0${running ? ` (${running} task(s) stopping)` : ''}`,
    details: { runningCount: running, desiredCount: res.service?.desiredCount },
  };
}

/** Pages of current orders read at most (1000 each); more is reported as truncated. */
const MAX_ORDER_PAGES = 10;
const ORDERS_PER_PAGE = 1000;

/**
 * Step 3: log in, cancel every unmatched bet, check what is left, log out. The step succeeds only
 * when listCurrentOrders shows no unmatched bet; otherwise it fails so the asynchronous retry sweeps
 * again. The logout is handed to `defer` and not waited for: nothing depends on it.
 */
export async function cancelAllBets(
  deps: StopDeps,
  signal: AbortSignal,
  details: BetsDetails,
  defer: (logout: Promise<string>) => void,
): Promise<StepResult> {
  const budget = budgetOf(deps);
  const wait = deps.sleep ?? sleep;
  const { betfairSecretId, betfairEndpoints } = deps.settings;
  const secret = await deps.secrets.send(new GetSecretValueCommand({ SecretId: betfairSecretId }), {
    abortSignal: signal,
  });
  const credentials = parseBetfairSecret(secretLabel(betfairSecretId), secret.SecretString);
  const client = new BetfairClient({
    endpoints: betfairEndpoints,
    credentials,
    requestTimeoutMs: budget.betfairRequestMs,
    signal,
    ca: deps.betfairCa,
  });
  details.loginMethod = client.loginMethod;
  await client.login();
  try {
    let cancelError: string | undefined;
    try {
      const report = await cancelWithBackoff(client, details, budget.matcherBackoffMs, (ms) =>
        wait(ms, signal),
      );
      details.cancelStatus = report.status;
      details.cancelErrorCode = report.errorCode;
      const instructions = report.instructionReports ?? [];
      details.cancelledBets = instructions.filter((r) => r.status === 'SUCCESS').length;
      details.sizeCancelled = round(instructions.reduce((sum, r) => sum + (r.sizeCancelled ?? 0), 0));
      const failures = instructions.filter((r) => r.status !== 'SUCCESS');
      if (failures.length > 0)
        details.instructionErrors = failures.map(
          (r) => `${r.instruction?.betId ?? '?'}: ${r.errorCode ?? r.status}`,
        );
      if (report.status === 'FAILURE' || report.status === 'TIMEOUT')
        cancelError = `cancelOrders ${report.status}${report.errorCode ? ` ${report.errorCode}` : ''}`;
    } catch (err) {
      if (signal.aborted) throw err;
      cancelError = errorMessage(err);
    }
    // Whatever the cancel said, listCurrentOrders is the authority on what is still open.
    let orders: CurrentOrderSummary[];
    try {
      orders = await listAll(client, details);
    } catch (err) {
      throw new Error(
        `${cancelError ? `${cancelError}; ` : ''}check with listCurrentOrders failed: ${errorMessage(err)}`,
      );
    }
    const open = orders.filter((o) => o.status === 'EXECUTABLE' && (o.sizeRemaining ?? 1) > 0);
    const matched = orders.filter((o) => (o.sizeMatched ?? 0) > 0);
    details.openBets = open.length;
    details.openSize = round(open.reduce((sum, o) => sum + (o.sizeRemaining ?? 0), 0));
    details.openBetIds = open.slice(0, 20).map((o) => o.betId);
    details.matchedBets = matched.length;
    details.matchedSize = round(matched.reduce((sum, o) => sum + (o.sizeMatched ?? 0), 0));
    details.relogins = client.relogins;
    const cancelled = `cancelOrders ${details.cancelStatus ?? 'failed'}${
      details.cancelAttempts > 1 ? ` after ${details.cancelAttempts} attempts` : ''
    }`;
    if (open.length > 0)
      return {
        ok: false,
        summary: `${cancelError ?? cancelled}; ${open.length} unmatched bet(s) still open, stake ${details.openSize?.toFixed(2)}`,
        details: { ...details },
      };
    const warnings = [
      cancelError,
      details.instructionErrors && `${details.instructionErrors.length} instruction error(s)`,
    ]
      .filter(Boolean)
      .join(', ');
    return {
      ok: true,
      summary: `${cancelled}; no unmatched bets open${warnings ? ` (${warnings})` : ''}; ${matched.length} matched bet(s) stay matched`,
      details: { ...details },
    };
  } finally {
    defer(
      client.logout().then(
        () => 'ok',
        (err: unknown) => `failed: ${errorMessage(err)}`,
      ),
    );
  }
}

/**
 * Betfair refuses a cancel-all while another is running (ERROR_IN_MATCHER). Wait and try again,
 * a bounded number of times; the last answer is returned (or thrown) as it is.
 */
async function cancelWithBackoff(
  client: BetfairClient,
  details: BetsDetails,
  backoffMs: readonly number[],
  wait: (ms: number) => Promise<void>,
): Promise<CancelExecutionReport> {
  for (let attempt = 0; ; attempt++) {
    details.cancelAttempts = attempt + 1;
    let matcherBusy: boolean;
    let result: CancelExecutionReport | undefined;
    try {
      result = await client.cancelAllOrders();
      matcherBusy = result.errorCode === 'ERROR_IN_MATCHER';
    } catch (err) {
      if (!(err instanceof BetfairError && err.code === 'ERROR_IN_MATCHER')) throw err;
      matcherBusy = true;
      if (attempt >= backoffMs.length) throw err;
    } finally {
      details.relogins = client.relogins;
    }
    if (!matcherBusy || attempt >= backoffMs.length) return result!;
    await wait(backoffMs[attempt]);
  }
}

async function listAll(client: BetfairClient, details: BetsDetails): Promise<CurrentOrderSummary[]> {
  const orders: CurrentOrderSummary[] = [];
  for (let page = 0; page < MAX_ORDER_PAGES; page++) {
    const res = await client.listCurrentOrders(page * ORDERS_PER_PAGE, ORDERS_PER_PAGE);
    orders.push(...(res.currentOrders ?? []));
    if (!res.moreAvailable) return orders;
  }
  details.listTruncated = true;
  return orders;
}

/** Step 4: one message to the on-call topic with every step's outcome and the bets still open. */
export async function notify(
  deps: StopDeps,
  trigger: Trigger,
  steps: readonly StepOutcome[],
  signal: AbortSignal,
): Promise<StepResult> {
  const { subject, message } = formatNotification(deps.settings.environment, trigger, steps);
  const res = await deps.sns.send(
    new PublishCommand({ TopicArn: deps.settings.topicArn, Subject: subject, Message: message }),
    { abortSignal: signal },
  );
  return { ok: true, summary: `published to the on-call topic (message ${res.MessageId ?? 'unknown'})` };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
