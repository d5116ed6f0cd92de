/**
 * What the config secret records of emergency stops and resumes: the emergency-stop function writes
 * `stopped_*`, `ops resume` writes `resumed_*`. Shared by `status` and `resume`, and free of SDK
 * calls, so the IAM simulation's reader of each command's calls sees only the command's own.
 */

/** The last stop and the last resume, as the config secret records them. */
export interface StopRecord {
  /** Who or what triggered the last emergency stop. */
  readonly stoppedBy?: string;
  /** ISO time of the last emergency stop. */
  readonly stoppedAt?: string;
  /** Why the last emergency stop ran. */
  readonly stoppedReason?: string;
  /** Who ran the last `ops resume`. */
  readonly resumedBy?: string;
  /** ISO time of the last `ops resume`. */
  readonly resumedAt?: string;
}

/** The record in a parsed config secret; a key that is not a string counts as absent. */
export function stopRecordOf(config: Record<string, unknown>): StopRecord {
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    stoppedBy: text(config.stopped_by),
    stoppedAt: text(config.stopped_at),
    stoppedReason: text(config.stopped_reason),
    resumedBy: text(config.resumed_by),
    resumedAt: text(config.resumed_at),
  };
}

/**
 * An emergency stop is in force when one is recorded and no resume is recorded after it. Times
 * are the ISO strings both writers use; an unparseable one counts as "no resume after it".
 */
export function stopInForce(flag: StopRecord): boolean {
  if (!flag.stoppedAt) return false;
  if (!flag.resumedAt) return true;
  const stopped = Date.parse(flag.stoppedAt);
  const resumed = Date.parse(flag.resumedAt);
  return Number.isNaN(stopped) || Number.isNaN(resumed) || resumed < stopped;
}
