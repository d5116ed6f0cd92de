import { randomUUID } from 'node:crypto';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { BetfairClient, CancelExecutionReport, CurrentOrderSummary, parseBetfairSecret } from './betfair';
import { Budget, BUDGET } from './budget';
import { Trigger } from './event';
import { BetsDetails, formatNotification, StepOutcome } from './report';
import { AppliedCheck, attemptMs, AttemptLog, Pace, retry, RetryContext } from './retry';
import { secretLabel, StopSettings } from './settings';
import { errorMessage, sleep, withTimeout } from './time';

/** What the steps use; tests pass mocked clients, a fake clock and short budgets. */
export interface StopDeps {
  readonly settings: StopSettings;
  readonly secrets: SecretsManagerClient;
  readonly ecs: ECSClient;
  readonly sns: SNSClient;
  readonly now?: () => Date;
  /** Waits between attempts. @default a real timer */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
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

/** Each dependency's pace in one run, shared by the steps that call it (retry.ts {@link Pace}). */
export interface Paces {
  readonly secretsManager: Pace;
  readonly ecs: Pace;
  readonly sns: Pace;
  readonly betfair: Pace;
}

export function newPaces(): Paces {
  return { secretsManager: { rung: 0 }, ecs: { rung: 0 }, sns: { rung: 0 }, betfair: { rung: 0 } };
}

/** What a step is given: its deadline (as a signal and as a `performance.now()` time), its attempt log, the run's paces. */
export interface StepContext extends RetryContext {
  readonly paces: Paces;
}

export function budgetOf(deps: StopDeps): Budget {
  return { ...BUDGET, ...deps.budget };
}

/** A retry context for `signal` and `log`, with the deps' clock and jitter and the run's paces. */
export function stepContext(
  deps: StopDeps,
  signal: AbortSignal,
  log: AttemptLog,
  deadlineAt: number,
  paces: Paces = newPaces(),
): StepContext {
  return { signal, log, deadlineAt, paces, sleep: deps.sleep ?? sleep, random: deps.random };
}

/**
 * Step 1: `live_trading_enabled: false` plus when, why and by whom, every other key kept. A config
 * already stopped (false with `stopped_at`) is left as it is, so a retry or a second alarm writes
 * nothing and the first stop's record stays. Never writes true.
 */
export async function disableTrading(
  deps: StopDeps,
  trigger: Trigger,
  ctx: StepContext,
): Promise<StepResult> {
  const { configSecretId } = deps.settings;
  const { aws } = budgetOf(deps);
  const label = secretLabel(configSecretId);
  const read = (abortSignal: AbortSignal) =>
    deps.secrets.send(new GetSecretValueCommand({ SecretId: configSecretId }), { abortSignal });
  const pace = ctx.paces.secretsManager;
  const current = await retry('GetSecretValue', aws, ctx, read, { pace });
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
  const next = JSON.stringify({
    ...config,
    live_trading_enabled: false,
    stopped_at: (deps.now ?? (() => new Date()))().toISOString(),
    stopped_reason: trigger.reason,
    stopped_by: trigger.requestedBy,
  });
  // One token for every attempt: a write that landed but whose answer was lost is not repeated
  // as a second version (Secrets Manager's idempotency token, which becomes the version id).
  const token = randomUUID();
  const put = await retry(
    'PutSecretValue',
    aws,
    ctx,
    (abortSignal) =>
      deps.secrets.send(
        new PutSecretValueCommand({
          SecretId: configSecretId,
          SecretString: next,
          ClientRequestToken: token,
        }),
        { abortSignal },
      ),
    {
      pace,
      // After a write that timed out, the secret's current value says whether it landed.
      check: {
        operation: 'GetSecretValue',
        read: async (abortSignal) => {
          const now = await read(abortSignal);
          return now.VersionId === token || now.SecretString === next
            ? {
                value: { VersionId: now.VersionId, $metadata: now.$metadata },
                evidence: `the current version ${now.VersionId} is this write`,
              }
            : undefined;
        },
      },
    },
  );
  return {
    ok: true,
    summary: `live_trading_enabled=false written to ${label} (version ${put.VersionId ?? 'unknown'})${note}`,
    details: { alreadyStopped: false, versionId: put.VersionId },
  };
}

/** Step 2: the bot service to zero tasks. The template has no DesiredCount, so no deploy undoes it. */
export async function scaleBotToZero(deps: StopDeps, ctx: StepContext): Promise<StepResult> {
  const { clusterName, botServiceName } = deps.settings;
  const res = await retry(
    'UpdateService',
    budgetOf(deps).aws,
    ctx,
    (abortSignal) =>
      deps.ecs.send(
        new UpdateServiceCommand({ cluster: clusterName, service: botServiceName, desiredCount: 0 }),
        { abortSignal },
      ),
    {
      pace: ctx.paces.ecs,
      // After an update that timed out, the desired count says whether ECS applied it.
      check: {
        operation: 'DescribeServices',
        read: async (abortSignal) => {
          const found = await deps.ecs.send(
            new DescribeServicesCommand({ cluster: clusterName, services: [botServiceName] }),
            { abortSignal },
          );
          const service = found.services?.[0];
          return service?.desiredCount === 0
            ? {
                value: { service, $metadata: found.$metadata },
                evidence: 'DescribeServices shows desiredCount 0',
              }
            : undefined;
        },
      },
    },
  );
  const running = res.service?.runningCount;
  return {
    ok: true,
    summary: `${clusterName}/${botServiceName} desiredCount 0${running ? ` (${running} task(s) stopping)` : ''}`,
    details: { runningCount: running, desiredCount: res.service?.desiredCount },
  };
}

/** Pages of unmatched orders read at most (1000 each); more means the check failed. */
const MAX_ORDER_PAGES = 10;
const ORDERS_PER_PAGE = 1000;

/** Where the size cancelled comes from (BetsDetails.sizeCancelledFrom). */
export const SIZE_SOURCES = {
  report: "Betfair's cancelOrders instruction reports",
  listings:
    'unmatched stake listed as the first cancel-all was sent, minus that left after the last ' +
    '(at least: a bet the cancel-all reached before the listing did is not counted)',
} as const;

/**
 * Step 3: log in, list the unmatched bets, cancel every one, check what is left, log out. The step
 * succeeds only when a complete listing shows no unmatched bet. Every request is retried until the
 * step's deadline; while unmatched bets remain and time is left, it sweeps again (cancel-all, then
 * check). The cancel-all is retried only until `checkReserveMs` is left, so the report always has
 * the last check. The logout is handed to `defer` and not waited for: nothing depends on it.
 */
export async function cancelAllBets(
  deps: StopDeps,
  ctx: StepContext,
  details: BetsDetails,
  defer: (logout: Promise<string>) => void,
): Promise<StepResult> {
  const budget = budgetOf(deps);
  const { betfairSecretId, betfairEndpoints } = deps.settings;
  // Read once, first, under the same timeout ladder as every call: a slow Secrets Manager delays
  // the cancel, it does not prevent it.
  const secret = await retry(
    'GetSecretValue',
    budget.aws,
    ctx,
    (abortSignal) =>
      deps.secrets.send(new GetSecretValueCommand({ SecretId: betfairSecretId }), { abortSignal }),
    { pace: ctx.paces.secretsManager },
  );
  let credentials;
  try {
    credentials = parseBetfairSecret(secretLabel(betfairSecretId), secret.SecretString);
  } catch (err) {
    ctx.log.permanent = true;
    throw err;
  }
  const client = new BetfairClient({
    endpoints: betfairEndpoints,
    credentials,
    // Each attempt's deadline comes from the ladder; this only bounds a request nobody aborts.
    requestTimeoutMs: budget.cancelBetsMs,
    signal: ctx.signal,
    ca: deps.betfairCa,
  });
  details.loginMethod = client.loginMethod;
  const pace = ctx.paces.betfair;
  const betfair = <T>(
    operation: string,
    c: RetryContext,
    call: (signal: AbortSignal) => Promise<T>,
    check?: AppliedCheck<T>,
  ) =>
    retry(
      operation,
      budget.betfair,
      c,
      async (signal) => {
        try {
          return await call(signal);
        } finally {
          details.relogins = client.relogins;
        }
      },
      { pace, check },
    );
  await betfair('login', ctx, (signal) => client.login(signal));
  try {
    // The size cancelled comes from a listing sent together with the first cancel-all, never before
    // it: one attempt on the current rung of the ladder, so the report costs the cancel no time at all.
    const listedBefore = withTimeout(
      'listCurrentOrders',
      attemptMs(budget.betfair, pace.rung, ctx.deadlineAt - performance.now()),
      (signal) => {
        ctx.log.attempts++;
        return listUnmatched(client, signal);
      },
      ctx.signal,
    ).then(
      (listing): Listing | undefined => {
        details.openBefore = listing.orders.length;
        details.openSizeBefore = stake(listing.orders);
        return listing;
      },
      (err: unknown) => {
        if (!ctx.signal.aborted)
          details.sizeCancelledFrom = `unknown: the listing sent with the cancel-all failed (${errorMessage(err)})`;
        return undefined;
      },
    );
    let before: Listing | undefined;
    const reported = new Map<string, number>();
    const instructionErrors = new Map<string, number>();
    for (let sweep = 1; ; sweep++) {
      details.sweeps = sweep;
      let cancelError: string | undefined;
      let checked: Listing | undefined;
      // The cancel-all is retried until only the check's reserve is left of the step.
      const window = Math.round(
        Math.max(budget.betfair.firstAttemptMs, ctx.deadlineAt - performance.now() - budget.checkReserveMs),
      );
      try {
        const outcome = await withTimeout(
          `cancelOrders retries (all but the last ${budget.checkReserveMs} ms of the step)`,
          window,
          (signal) =>
            betfair(
              'cancelOrders',
              { ...ctx, signal, deadlineAt: performance.now() + window },
              async (s): Promise<CancelOutcome> => {
                details.cancelAttempts++;
                return { report: await client.cancelAllOrders(s) };
              },
              {
                // A cancel-all that timed out may have gone through: the open orders say so.
                operation: 'listCurrentOrders',
                read: async (s) => {
                  const listing = await listUnmatched(client, s);
                  return listing.orders.length === 0 && !listing.truncated
                    ? { value: { listing }, evidence: 'listCurrentOrders shows no unmatched bet' }
                    : undefined;
                },
              },
            ),
          ctx.signal,
        );
        if (outcome.report) recordCancel(outcome.report, details, reported, instructionErrors);
        else {
          details.cancelStatus = 'applied late';
          checked = outcome.listing;
        }
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        cancelError = errorMessage(err);
        details.cancelError = cancelError;
      }
      // Whatever the cancel said, a complete listing is the authority on what is still open.
      const after =
        checked ?? (await betfair('listCurrentOrders', ctx, (signal) => listUnmatched(client, signal)));
      if (sweep === 1) before = await listedBefore;
      details.openBets = after.orders.length;
      details.openSize = stake(after.orders);
      details.openBetIds = after.orders.slice(0, 20).map((o) => o.betId);
      details.listTruncated = after.truncated;
      sizeCancelled(details, before, after, reported);
      const cancelled = `cancelOrders ${details.cancelStatus ?? 'failed'}${
        details.cancelAttempts > 1 ? ` after ${details.cancelAttempts} attempts` : ''
      }${sweep > 1 ? ` in ${sweep} sweeps` : ''}`;
      if (after.orders.length === 0 && !after.truncated) {
        const distinct = details.instructionErrors?.length ?? 0;
        const warnings = [cancelError, distinct && `${distinct} distinct instruction error(s)`]
          .filter(Boolean)
          .join(', ');
        return {
          ok: true,
          summary: `${cancelled}; no unmatched bets open${warnings ? ` (${warnings})` : ''}; size cancelled ${sizeText(details)}`,
          details: { ...details },
        };
      }
      const left = after.truncated
        ? `the check is NOT verified: listCurrentOrders still had more after ${MAX_ORDER_PAGES} pages (at least ${after.orders.length} unmatched bets)`
        : `${after.orders.length} unmatched bet(s) still open, stake ${details.openSize?.toFixed(2)}`;
      const summary = `${cancelError ?? cancelled}; ${left}`;
      // A permanent refusal will not change; otherwise sweep again while a check still fits.
      const remaining = ctx.deadlineAt - performance.now();
      if (ctx.log.permanent || remaining < budget.checkReserveMs + budget.betfair.firstAttemptMs)
        return { ok: false, summary, details: { ...details } };
      ctx.log.lastError = `sweep ${sweep}: ${left}`;
      await ctx.sleep(budget.betfair.baseDelayMs, ctx.signal);
    }
  } finally {
    defer(
      client.logout(undefined, budget.betfair.firstAttemptMs).then(
        () => 'ok',
        (err: unknown) => `failed: ${errorMessage(err)}`,
      ),
    );
  }
}

/** What one cancel-all attempt gave: Betfair's report, or (after a timeout) a check showing nothing open. */
type CancelOutcome =
  { report: CancelExecutionReport; listing?: never } | { listing: Listing; report?: never };

interface Listing {
  readonly orders: CurrentOrderSummary[];
  /** More pages existed than were read. */
  readonly truncated: boolean;
}

/** Every unmatched (EXECUTABLE, stake remaining) order, page by page. */
async function listUnmatched(client: BetfairClient, signal: AbortSignal): Promise<Listing> {
  const orders: CurrentOrderSummary[] = [];
  let from = 0;
  for (let page = 0; page < MAX_ORDER_PAGES; page++) {
    const res = await client.listCurrentOrders(from, ORDERS_PER_PAGE, { executableOnly: true, signal });
    // The answer's shape is checked (betfair.ts ANSWER_SCHEMAS): currentOrders is always there. An
    // order without sizeRemaining counts as open: unknown stake is not "nothing left".
    const current = res.currentOrders;
    orders.push(...current.filter((o) => o.status === 'EXECUTABLE' && (o.sizeRemaining ?? 1) > 0));
    if (!res.moreAvailable) return { orders, truncated: false };
    // An empty page that claims more would loop forever: it counts as cut short.
    if (current.length === 0) break;
    from += current.length;
  }
  return { orders, truncated: true };
}

function recordCancel(
  report: CancelExecutionReport,
  details: BetsDetails,
  reported: Map<string, number>,
  errors: Map<string, number>,
): void {
  details.cancelStatus = report.status;
  details.cancelErrorCode = report.errorCode;
  for (const r of report.instructionReports ?? []) {
    const betId = r.instruction?.betId ?? `?${reported.size}`;
    if (r.status === 'SUCCESS') reported.set(betId, r.sizeCancelled ?? 0);
    else {
      // The same error comes back on every sweep: each distinct one is reported once, with a count.
      const key = `${r.instruction?.betId ?? '?'}: ${r.errorCode ?? r.status}`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
  }
  if (errors.size > 0)
    details.instructionErrors = [...errors].map(([key, n]) => (n > 1 ? `${key} (${n} times)` : key));
}

/**
 * The size cancelled, saying where it comes from: Betfair's instruction reports when it sent any
 * (a cancel-all usually sends none), else the listings before and after.
 */
function sizeCancelled(
  details: BetsDetails,
  before: Listing | undefined,
  after: Listing,
  reported: Map<string, number>,
): void {
  if (reported.size > 0) {
    details.cancelledBets = reported.size;
    details.sizeCancelled = round([...reported.values()].reduce((a, b) => a + b, 0));
    details.sizeCancelledFrom = SIZE_SOURCES.report;
    return;
  }
  if (!before) return;
  const left = new Map(after.orders.map((o) => [o.betId, o.sizeRemaining ?? 0]));
  const gone = before.orders.map((o) => (o.sizeRemaining ?? 0) - (left.get(o.betId) ?? 0));
  details.cancelledBets = before.orders.filter((o) => !left.has(o.betId)).length;
  details.sizeCancelled = round(gone.reduce((a, b) => a + Math.max(0, b), 0));
  details.sizeCancelledFrom =
    SIZE_SOURCES.listings + (before.truncated ? ' (the first listing was cut short: at least)' : '');
}

function sizeText(details: BetsDetails): string {
  return details.sizeCancelled === undefined
    ? 'unknown'
    : `${details.sizeCancelled.toFixed(2)} in ${details.cancelledBets ?? 0} bet(s)`;
}

function stake(orders: readonly CurrentOrderSummary[]): number {
  return round(orders.reduce((sum, o) => sum + (o.sizeRemaining ?? 0), 0));
}

/** Step 4: one message to the on-call topic with every step's outcome and the bets still open. */
export async function notify(
  deps: StopDeps,
  trigger: Trigger,
  steps: readonly StepOutcome[],
  ctx: StepContext,
): Promise<StepResult> {
  const { subject, message } = formatNotification(deps.settings.environment, trigger, steps);
  const res = await retry(
    'Publish',
    budgetOf(deps).aws,
    ctx,
    (abortSignal) =>
      deps.sns.send(
        new PublishCommand({ TopicArn: deps.settings.topicArn, Subject: subject, Message: message }),
        { abortSignal },
      ),
    { pace: ctx.paces.sns },
  );
  return { ok: true, summary: `published to the on-call topic (message ${res.MessageId ?? 'unknown'})` };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
