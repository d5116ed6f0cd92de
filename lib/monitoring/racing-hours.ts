import { RacingHoursConfig } from '../../environments/types';

/**
 * The metric-math expression behind the "no bets" alarm: the bot's 5-minute bet count during racing
 * hours and a constant 1 outside them, so the alarm (`< 1`) can only breach while bets are expected.
 *
 * CloudWatch alarms cannot be scheduled, but metric math has had time functions since 2021:
 * `HOUR(m)` is the UTC hour and `DAY(m)` the weekday (1 = Monday … 7 = Sunday) of each data point
 * of `m`. `FILL(m, 0)` turns a minute the bot published nothing into 0 bets, and gives the time
 * functions a data point to read. Returns undefined when `daysOfWeek` is empty (no bets expected).
 *
 * @param betsId id of the filled bets series inside the expression
 */
export function racingHoursExpression(hours: RacingHoursConfig, betsId: string): string | undefined {
  const days = [...new Set(hours.daysOfWeek)].sort((a, b) => a - b);
  if (days.length === 0) return undefined;
  const conditions: string[] = [];
  if (days.length < 7) conditions.push(`(${days.map((d) => `DAY(${betsId}) == ${d}`).join(' OR ')})`);
  if (hours.startHourUtc > 0) conditions.push(`HOUR(${betsId}) >= ${hours.startHourUtc}`);
  if (hours.endHourUtc < 24) conditions.push(`HOUR(${betsId}) < ${hours.endHourUtc}`);
  // A window of every hour of every day has no condition: bets are always expected.
  if (conditions.length === 0) return betsId;
  return `IF(${conditions.join(' AND ')}, ${betsId}, 1)`;
}
