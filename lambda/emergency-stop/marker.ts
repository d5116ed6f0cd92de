import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { STOP_MARKER } from '../../lib/metrics';
import { errorMessage } from './time';

/** How long the marker may take: it runs beside the steps and must never hold the stop up. */
export const MARKER_TIMEOUT_MS = 5_000;

/**
 * The stop's own "halted by emergency stop" marker: `HaltedByStop` = 1 (lib/metrics.ts STOP_MARKER).
 * The alarm `trading-halted` reads it, and it alone suppresses the trading pages a stop causes.
 * Best effort on purpose: if it cannot be written, trading-impaired pages after the stop, which is
 * the safe way to fail. Never throws; returns what happened for the log.
 */
export async function markHaltedByStop(
  cloudwatch: CloudWatchClient,
  now: Date = new Date(),
): Promise<string> {
  try {
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: STOP_MARKER.namespace,
        MetricData: [{ MetricName: STOP_MARKER.metricName, Value: 1, Unit: 'Count', Timestamp: now }],
      }),
      { abortSignal: AbortSignal.timeout(MARKER_TIMEOUT_MS) },
    );
    return 'halted marker written';
  } catch (err) {
    return `halted marker not written: ${errorMessage(err)}`;
  }
}
