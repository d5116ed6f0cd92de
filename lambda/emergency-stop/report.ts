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
  /** Requests the step sent, retries included. */
  readonly attempts: number;
  /** The last failure the step saw (`<operation>: <error>`), also when a later attempt succeeded. */
  readonly lastError?: string;
  /** A permanent error ended the step: it was not retried (bad credentials, AccessDenied, a missing resource). */
  readonly permanent?: boolean;
  /**
   * Requests that timed out at the client, whose effect a check then found in place
   * (`UpdateService: DescribeServices shows desiredCount 0`): done, late, not failed.
   */
  readonly appliedLate?: readonly string[];
  /**
   * Requests sent (how many times) that never answered and whose effect no check confirmed before
   * the step ended: they may or may not have been applied.
   */
  readonly unanswered?: Readonly<Record<string, number>>;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What the Betfair step found; `openBets` comes from the last listCurrentOrders check. */
export interface BetsDetails {
  loginMethod?: 'certificate' | 'interactive';
  /** cancelOrders requests sent (more than one after a transient refusal or a second sweep). */
  cancelAttempts: number;
  /** Fresh logins after a session error (at most 1). */
  relogins: number;
  /** Cancel-all then check rounds: another follows while unmatched bets remain and time is left. */
  sweeps?: number;
  cancelStatus?: string;
  cancelErrorCode?: string;
  /** The last cancel-all failure, when the step went on to the check without a successful cancel. */
  cancelError?: string;
  /**
   * Instruction reports that failed, each distinct one once, e.g. `123: BET_TAKEN_OR_LAPSED`, with
   * ` (n times)` when sweeps got it more than once.
   */
  instructionErrors?: string[];
  /** Unmatched bets, and their stake, in the listing sent together with the first cancel-all. */
  openBefore?: number;
  openSizeBefore?: number;
  /** Bets no longer unmatched, and the stake that went, by the source in `sizeCancelledFrom`. */
  cancelledBets?: number;
  sizeCancelled?: number;
  /** Where `sizeCancelled` comes from, or why it is unknown. */
  sizeCancelledFrom?: string;
  /** Unmatched (EXECUTABLE) bets left after the cancel. Undefined when the check did not run. */
  openBets?: number;
  /** Their unmatched stake. */
  openSize?: number;
  /** Up to 20 of their bet ids. */
  openBetIds?: string[];
  /** More unmatched orders existed than the check read: the check failed, whatever it counted. */
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

/**
 * One line per step: `[ok]` or `[FAILED]`, the title, the summary, what was applied late or never
 * answered, and its requests when one failed.
 */
export function formatSteps(steps: readonly StepOutcome[]): string[] {
  return steps.map(
    (s) =>
      `${s.ok ? '[ok]    ' : '[FAILED]'} ${STEP_TITLES[s.step]}: ${s.summary}${lateText(s)} (${attemptsText(s)}${(s.durationMs / 1000).toFixed(1)} s)`,
  );
}

function lateText(s: StepOutcome): string {
  const late = s.appliedLate?.length ? `; applied late (${s.appliedLate.join('; ')})` : '';
  const unanswered = Object.entries(s.unanswered ?? {});
  const open = unanswered.length
    ? `; no answer to ${unanswered.map(([op, n]) => `${op} (sent ${n} time(s))`).join(', ')}: its effect is unknown`
    : '';
  return late + open;
}

function attemptsText(s: StepOutcome): string {
  if (s.permanent) return `permanent error, not retried; ${s.attempts} request(s); `;
  if (!s.lastError) return '';
  return `${s.attempts} requests; last error ${s.lastError}; `;
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
      : `Trading in ${environment} may NOT be fully halted: ${failed.join(', ')} failed. The function retries twice; finish by hand if it keeps failing (docs/operations.md "Emergency stop").`,
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
  const size =
    bets?.sizeCancelled !== undefined
      ? `Size cancelled: ${money(bets.sizeCancelled)} in ${bets.cancelledBets ?? 0} bet(s) (from ${bets.sizeCancelledFrom})`
      : `Size cancelled: unknown${bets?.sizeCancelledFrom ? ` (${bets.sizeCancelledFrom})` : ''}`;
  if (bets?.openBets === undefined)
    return [
      'Bets still open: UNKNOWN (the check with listCurrentOrders did not complete). Check Betfair by hand.',
      size,
    ];
  if (bets.listTruncated)
    return [
      `Unmatched bets still open: at least ${bets.openBets} (NOT verified: the listing was cut short). Check Betfair by hand.`,
      size,
    ];
  return [
    `Unmatched bets still open: ${bets.openBets}${bets.openBets > 0 ? `, stake ${money(bets.openSize)} (bet ids ${bets.openBetIds?.join(', ')})` : ''}`,
    size,
  ];
}

function money(n: number | undefined): string {
  return (n ?? 0).toFixed(2);
}

function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}
