import { Trigger } from './event';
import { BetsDetails, StepName, StepOutcome, StopReport } from './report';
import { AttemptLog } from './retry';
import {
  budgetOf,
  cancelAllBets,
  disableTrading,
  newPaces,
  notify,
  Paces,
  scaleBotToZero,
  StepContext,
  stepContext,
  StepResult,
  StopDeps,
} from './steps';
import { errorMessage, withTimeout } from './time';

/**
 * One emergency stop. The flag write, the scale-to-zero and the Betfair sequence do not depend on
 * each other, so they run at once, each under its own deadline; every one is attempted whatever the
 * others do. The notification follows with all their outcomes. The run never throws: the caller
 * decides what a failed step means (the handler throws, so Lambda retries).
 */
export async function runEmergencyStop(trigger: Trigger, deps: StopDeps): Promise<StopReport> {
  const now = deps.now ?? (() => new Date());
  const budget = budgetOf(deps);
  const startedAt = now().toISOString();
  const logouts: Promise<string>[] = [];
  const bets: BetsDetails = { cancelAttempts: 0, relogins: 0 };
  // How slow each dependency has shown itself, shared by the steps (the config and the Betfair
  // secret are both read from Secrets Manager at once).
  const paces = newPaces();

  const settled = await Promise.allSettled([
    runStep(deps, paces, 'trading-flag', budget.tradingFlagMs, (ctx) => disableTrading(deps, trigger, ctx)),
    runStep(deps, paces, 'scale-bot', budget.scaleBotMs, (ctx) => scaleBotToZero(deps, ctx)),
    runStep(
      deps,
      paces,
      'cancel-bets',
      budget.cancelBetsMs,
      (ctx) => cancelAllBets(deps, ctx, bets, (logout) => logouts.push(logout)),
      () => ({ ...bets }),
    ),
  ]);
  // runStep never rejects; allSettled keeps that true even if it one day does.
  const steps: StepOutcome[] = settled.map((s, i) =>
    s.status === 'fulfilled'
      ? s.value
      : {
          step: (['trading-flag', 'scale-bot', 'cancel-bets'] as const)[i],
          ok: false,
          summary: errorMessage(s.reason),
          durationMs: 0,
          attempts: 0,
        },
  );

  const notified = await runStep(deps, paces, 'notify', budget.notifyMs, (ctx) =>
    notify(deps, trigger, steps, ctx),
  );
  // The logout started with the notification; its answer is waited for only within the grace.
  const logout = await within(
    Promise.all(logouts).then((r) => r.join('; ')),
    budget.logoutGraceMs,
    'sent; answer not awaited (the session expires on its own if it did not land)',
  );
  const reported = steps.map((s) =>
    s.step === 'cancel-bets' && logout ? { ...s, details: { ...s.details, logout } } : s,
  );
  const all = [...reported, notified];
  const failedSteps = all.filter((s) => !s.ok).map((s) => s.step);
  return {
    environment: deps.settings.environment,
    trigger,
    startedAt,
    finishedAt: now().toISOString(),
    ok: failedSteps.length === 0,
    failedSteps,
    steps: all,
  };
}

/**
 * Runs one step under its deadline and turns whatever happens into an outcome, with the requests it
 * sent, the last error it saw, whether a permanent error ended it, the requests applied late and
 * those never answered.
 */
async function runStep(
  deps: StopDeps,
  paces: Paces,
  step: StepName,
  ms: number,
  work: (ctx: StepContext) => Promise<StepResult>,
  progress?: () => Record<string, unknown>,
): Promise<StepOutcome> {
  const started = performance.now();
  const log: AttemptLog = { attempts: 0 };
  const unanswered = () => Object.entries(log.unanswered ?? {});
  const attempts = () => ({
    attempts: log.attempts,
    ...(log.lastError ? { lastError: log.lastError } : {}),
    ...(log.permanent ? { permanent: true } : {}),
    ...(log.appliedLate?.length ? { appliedLate: [...log.appliedLate] } : {}),
    ...(unanswered().length ? { unanswered: Object.fromEntries(unanswered()) } : {}),
  });
  try {
    const result = await withTimeout(step, ms, (signal) =>
      work(stepContext(deps, signal, log, started + ms, paces)),
    );
    return { step, ...result, durationMs: Math.round(performance.now() - started), ...attempts() };
  } catch (err) {
    return {
      step,
      ok: false,
      summary: errorMessage(err),
      durationMs: Math.round(performance.now() - started),
      ...attempts(),
      ...(progress ? { details: progress() } : {}),
    };
  }
}

/** `promise`'s value if it settles within `ms`, else `fallback`. */
async function within(promise: Promise<string>, ms: number, fallback: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
