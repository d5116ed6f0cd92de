import { InvalidEventError, parseEvent } from '../../lambda/emergency-stop/event';
import { directAlarm, snsAlarm } from './fixtures';

const NOW = new Date('2026-05-01T12:00:00.000Z');

describe('the events the emergency stop accepts', () => {
  test('a direct alarm action moving to ALARM stops, recording the alarm as who asked', () => {
    expect(parseEvent(directAlarm('ALARM'))).toEqual({
      action: 'stop',
      trigger: {
        kind: 'alarm',
        reason: 'Threshold Crossed: 1 datapoint [-612.5] was <= the threshold (-500.0).',
        requestedBy: 'alarm ProductionStack-LossLimit',
        at: '2026-05-01T11:59:30.000+0000',
        alarmName: 'ProductionStack-LossLimit',
        alarmArn: 'arn:aws:cloudwatch:eu-west-1:222222222222:alarm:ProductionStack-LossLimit',
      },
    });
  });

  test.each(['OK', 'INSUFFICIENT_DATA'])('a direct alarm action moving to %s does nothing', (state) => {
    expect(parseEvent(directAlarm(state))).toEqual({
      action: 'ignore',
      why: `alarm ProductionStack-LossLimit moved to ${state}`,
    });
  });

  test('an SNS-delivered alarm moving to ALARM stops', () => {
    expect(parseEvent(snsAlarm('ALARM'))).toMatchObject({
      action: 'stop',
      trigger: { kind: 'alarm', alarmName: 'ProductionStack-ErrorStorm', at: '2026-05-01T11:58:00.000+0000' },
    });
  });

  test('an SNS-delivered alarm moving to OK does nothing', () => {
    expect(parseEvent(snsAlarm('OK'))).toMatchObject({ action: 'ignore' });
  });

  test('a manual request stops with the reason and who asked', () => {
    expect(
      parseEvent({ source: 'manual', reason: ' runaway strategy ', requestedBy: 'alice' }, () => NOW),
    ).toEqual({
      action: 'stop',
      trigger: { kind: 'manual', reason: 'runaway strategy', requestedBy: 'alice', at: NOW.toISOString() },
    });
  });

  test.each([
    [
      'a manual request without reason',
      { source: 'manual', requestedBy: 'alice' },
      /reason is undefined: a manual stop needs a non-empty reason/,
    ],
    [
      'a manual request without requestedBy',
      { source: 'manual', reason: 'x', requestedBy: '' },
      /requestedBy is "": a manual stop needs/,
    ],
    [
      'an alarm action without a state',
      { source: 'aws.cloudwatch', alarmData: {} },
      /alarmData.state.value is undefined/,
    ],
    [
      'an SNS message that is not an alarm',
      { Records: [{ Sns: { Message: 'hello' } }] },
      /Records\[0\].Sns.Message is not JSON/,
    ],
    ['an empty SNS batch', { Records: [] }, /Records is empty/],
    [
      'anything else',
      { detail: 'x' },
      /event has source undefined and keys \[detail\]: expected a CloudWatch alarm action/,
    ],
    ['no object at all', null, /event is null/],
  ])('fails on %s, naming the field and what it expects', (_, event, message) => {
    expect(() => parseEvent(event)).toThrow(InvalidEventError);
    expect(() => parseEvent(event)).toThrow(message);
  });
});
