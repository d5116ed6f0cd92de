/** Invocation payloads as AWS delivers them, shared by the emergency-stop tests. */

/** The payload CloudWatch sends a Lambda alarm action (AWS docs, "Lambda alarm actions"). */
export function directAlarm(value: string, alarmName = 'ProductionStack-LossLimit') {
  return {
    source: 'aws.cloudwatch',
    alarmArn: `arn:aws:cloudwatch:eu-west-1:222222222222:alarm:${alarmName}`,
    accountId: '222222222222',
    time: '2026-05-01T11:59:30.000+0000',
    region: 'eu-west-1',
    alarmData: {
      alarmName,
      state: {
        value,
        reason: 'Threshold Crossed: 1 datapoint [-612.5] was <= the threshold (-500.0).',
        timestamp: '2026-05-01T11:59:30.000+0000',
      },
      previousState: { value: 'OK', reason: '', timestamp: '2026-05-01T10:00:00.000+0000' },
      configuration: { metrics: [] },
    },
  };
}

/** An alarm notification delivered through SNS. */
export function snsAlarm(value: string, alarmName = 'ProductionStack-ErrorStorm') {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        Sns: {
          Type: 'Notification',
          Subject: `ALARM: "${alarmName}" in EU (Ireland)`,
          Message: JSON.stringify({
            AlarmName: alarmName,
            AlarmArn: `arn:aws:cloudwatch:eu-west-1:222222222222:alarm:${alarmName}`,
            NewStateValue: value,
            NewStateReason: 'Threshold Crossed: 3 datapoints were >= the threshold (50.0).',
            StateChangeTime: '2026-05-01T11:58:00.000+0000',
            OldStateValue: 'OK',
          }),
        },
      },
    ],
  };
}
