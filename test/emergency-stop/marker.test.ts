import './quiet-logs';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { markHaltedByStop } from '../../lambda/emergency-stop/marker';
import { STOP_MARKER } from '../../lib/metrics';

const cwMock = mockClient(CloudWatchClient);

beforeEach(() => cwMock.reset());

describe('the "halted by emergency stop" marker', () => {
  test('writes HaltedByStop = 1 in the stop marker namespace, at the stop’s time', async () => {
    cwMock.on(PutMetricDataCommand).resolves({});
    const at = new Date('2026-12-06T03:00:00Z');
    await expect(markHaltedByStop(new CloudWatchClient({ region: 'eu-west-1' }), at)).resolves.toBe(
      'halted marker written',
    );
    const calls = cwMock.commandCalls(PutMetricDataCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({
      Namespace: STOP_MARKER.namespace,
      MetricData: [{ MetricName: STOP_MARKER.metricName, Value: 1, Unit: 'Count', Timestamp: at }],
    });
  });

  test('fails softly: a refused write is reported, never thrown (the stop goes on)', async () => {
    cwMock.on(PutMetricDataCommand).rejects(new Error('AccessDenied: not authorized'));
    await expect(markHaltedByStop(new CloudWatchClient({ region: 'eu-west-1' }))).resolves.toBe(
      'halted marker not written: AccessDenied: not authorized',
    );
  });
});
