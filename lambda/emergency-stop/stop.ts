import { Trigger } from './event';
import { BetsDetails, StepName, StepOutcome, StopReport } from './report';
import {
  budgetOf,
  cancelAllBets,
  disableTrading,
  notify,
  scaleBotToZero,
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

  const settled = await Promise.allSettled([
    runStep('trading-flag', budget.tradingFlagMs, (signal) => disableTrading(deps, trigger, signal)),
    runStep('scale-bot', budget.scaleBotMs, (signal) => scaleBotToZero(deps, signal)),
    runStep(
      'cancel-bets',
      budget.cancelBetsMs,
      (signal) => cancelAllBets(deps, signal, bets, (logout) => logouts.push(logout)),
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
        },
  );

  const notified = await runStep('notify', budget.notifyMs, (signal) => notify(deps, trigger, steps, signal));
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

/** Runs one step under its deadline and turns whatever happens into an outcome. */
async function runStep(
  step: StepName,
  ms: number,
  work: (signal: AbortSignal) => Promise<StepResult>,
  progress?: () => Record<string, unknown>,
): Promise<StepOutcome> {
  const started = performance.now();
  try {
    const result = await withTimeout(step, ms, work);
    return { step, ...result, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      step,
      ok: false,
      summary: errorMessage(err),
      durationMs: Math.round(performance.now() - started),
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
