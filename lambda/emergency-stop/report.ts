import { Trigger } from './event';

/** The four steps of the guide's "Runbook: Emergency Stop", in the order they are reported. */
export type StepName = 'trading-flag' | 'scale-bot' | 'cancel-bets' | 'notify';

export const STEP_TITLES: Readonly<Record<StepName, string>> = {
  'trading-flag': 'Disable live trading (config secret)',
  'scale-bot': 'Scale the bot to zero',
  'cancel-bets': 'Cancel unmatched bets on Betfair',
  notify: 'Notify on-call',
};

/** What one step did. */
export interface StepOutcome {
  readonly step: StepName;
  readonly ok: boolean;
  /** One line a person can act on. */
  readonly summary: string;
  readonly durationMs: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What the Betfair step found; `openBets` and `matchedBets` come from listCurrentOrders after the cancel. */
export interface BetsDetails {
  loginMethod?: 'certificate' | 'interactive';
  /** cancelOrders calls made (more than one when Betfair answered ERROR_IN_MATCHER). */
  cancelAttempts: number;
  /** Fresh logins after a session error (at most 1). */
  relogins: number;
  cancelStatus?: string;
  cancelErrorCode?: string;
  cancelledBets?: number;
  sizeCancelled?: number;
  /** Instruction reports that failed, e.g. `123: BET_TAKEN_OR_LAPSED`. */
  instructionErrors?: string[];
  /** Unmatched (EXECUTABLE) bets left after the cancel. Undefined when the check did not run. */
  openBets?: number;
  /** Their unmatched stake. */
  openSize?: number;
  /** Up to 20 of their bet ids. */
  openBetIds?: string[];
  /** Bets with matched stake: cannot be cancelled, only hedged or left to settle. */
  matchedBets?: number;
  matchedSize?: number;
  /** True when more orders existed than the check read. */
  listTruncated?: boolean;
  /** The logout's outcome; it runs alongside the notification, so only the returned report has it. */
  logout?: string;
}

/** The result of one run: returned to `ops emergency-stop`, logged, and (minus the notify step) e-mailed. */
export interface StopReport {
  readonly environment: string;
  readonly trigger: Trigger;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly ok: boolean;
  readonly failedSteps: readonly StepName[];
  readonly steps: readonly StepOutcome[];
}

/** Separates the human message from the JSON report in the error a failed run throws. */
export const REPORT_MARKER = '\nREPORT ';

/** Thrown at the end of a run in which any step failed, so Lambda's asynchronous retry runs it again. */
export class EmergencyStopIncompleteError extends Error {
  constructor(readonly report: StopReport) {
    super(
      `Emergency stop of ${report.environment} incomplete: ${report.failedSteps
        .map((s) => `${s} failed (${report.steps.find((o) => o.step === s)?.summary})`)
        .join('; ')}${REPORT_MARKER}${JSON.stringify(report)}`,
    );
    this.name = 'EmergencyStopIncompleteError';
  }
}

/** Reads the report back out of a failed invocation's error message (`ops emergency-stop`). */
export function reportFromErrorMessage(message: string): StopReport | undefined {
  const at = message.indexOf(REPORT_MARKER);
  if (at < 0) return undefined;
  try {
    return JSON.parse(message.slice(at + REPORT_MARKER.length)) as StopReport;
  } catch {
    return undefined;
  }
}

/** One line per step: `[ok]` or `[FAILED]`, the title and the summary. */
export function formatSteps(steps: readonly StepOutcome[]): string[] {
  return steps.map(
    (s) =>
      `${s.ok ? '[ok]    ' : '[FAILED]'} ${STEP_TITLES[s.step]}: ${s.summary} (${(s.durationMs / 1000).toFixed(1)} s)`,
  );
}

/** The on-call e-mail: subject under SNS's 100-character ASCII limit, then every step and the open bets. */
export function formatNotification(
  environment: string,
  trigger: Trigger,
  steps: readonly StepOutcome[],
): { subject: string; message: string } {
  const failed = steps.filter((s) => !s.ok).map((s) => s.step);
  const subject = ascii(
    failed.length === 0
      ? `[${environment}] EMERGENCY STOP: trading halted`
      : `[${environment}] EMERGENCY STOP INCOMPLETE: ${failed.join(', ')} failed`,
  ).slice(0, 99);
  const bets = steps.find((s) => s.step === 'cancel-bets')?.details as BetsDetails | undefined;
  const lines = [
    failed.length === 0
      ? `Trading in ${environment} is halted.`
      : `Trading in ${environment} may NOT be fully halted: ${failed.join(', ')} failed. The function retries twice; finish by hand if it keeps failing (README "Emergency stop").`,
    '',
    `Trigger: ${trigger.kind === 'alarm' ? `alarm ${trigger.alarmName}` : 'manual request'} at ${trigger.at || 'unknown time'}`,
    `Requested by: ${trigger.requestedBy}`,
    `Reason: ${trigger.reason}`,
    '',
    ...formatSteps(steps),
    '',
    ...betLines(bets),
    '',
    `Matched bets cannot be cancelled; they stay matched until they settle.`,
    `Nothing turns trading back on except a person: npm run ops -- resume --env ${environment}`,
  ];
  return { subject, message: lines.join('\n') };
}

/** The whole report for a terminal (`npm run ops -- emergency-stop`): headline, steps, bets. */
export function formatReport(report: StopReport): string[] {
  const bets = report.steps.find((s) => s.step === 'cancel-bets')?.details as BetsDetails | undefined;
  return [
    `Emergency stop of ${report.environment} ${report.ok ? 'COMPLETE' : `INCOMPLETE (${report.failedSteps.join(', ')} failed)`}`,
    ...formatSteps(report.steps),
    ...betLines(bets),
    ...(bets?.logout && bets.logout !== 'ok'
      ? [`Betfair logout ${bets.logout} (the session expires by itself)`]
      : []),
  ];
}

function betLines(bets: BetsDetails | undefined): string[] {
  if (bets?.openBets === undefined)
    return [
      'Bets still open: UNKNOWN (the check with listCurrentOrders did not complete). Check Betfair by hand.',
    ];
  const more = bets.listTruncated ? ' (at least; the list was cut short)' : '';
  return [
    `Unmatched bets still open: ${bets.openBets}${more}${bets.openBets > 0 ? `, stake ${money(bets.openSize)} (bet ids ${bets.openBetIds?.join(', ')})` : ''}`,
    `Matched bets (not cancellable): ${bets.matchedBets ?? 0}${more}, matched stake ${money(bets.matchedSize)}`,
  ];
}

function money(n: number | undefined): string {
  return (n ?? 0).toFixed(2);
}

function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}
