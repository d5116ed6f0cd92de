import { loadConfig } from '../../lambda/rollback/config';
import { InputError } from '../../lambda/rollback/errors';
import { parseEvent } from '../../lambda/rollback/event';
import { isRetryable } from '../../lambda/rollback/retry';
import { imageTag } from '../../lambda/rollback/task-definition';

const ALARMS = { 'clever-better-staging-bot-deploy-errors': 'bot' } as const;
const TD = 'arn:aws:ecs:eu-west-1:111111111111:task-definition/clever-better-bot:4';

describe('direct invocations', () => {
  test('take the service and default to acting', () => {
    expect(parseEvent({ service: 'bot' }, ALARMS)).toEqual({
      kind: 'request',
      request: expect.objectContaining({ service: 'bot', dryRun: false, trigger: { kind: 'manual' } }),
    });
  });

  test('carry the plan of a dry run and an explicit revision', () => {
    const plan = { action: 'update-service', from: TD.replace(':4', ':5'), to: TD };
    const parsed = parseEvent(
      {
        service: 'ml-service',
        dryRun: false,
        requestedBy: 'alice',
        reason: '5xx after v1.3.0',
        plan,
        to: '4',
      },
      ALARMS,
    );
    expect(parsed).toMatchObject({
      request: { service: 'ml-service', dryRun: false, requestedBy: 'alice', plan, to: '4' },
    });
  });

  test.each([
    [{ service: 'db' }, /service = "db" is not usable\. Fix: send one of "bot", "ml-service"/],
    [{}, /service = undefined is not usable/],
    [
      { service: 'bot', dryRun: 'yes' },
      /dryRun = "yes" is not usable\. Fix: send true \(plan only\) or false/,
    ],
    [
      { service: 'bot', force: true },
      /force = true is not usable\. Fix: leave it out: a direct invocation accepts only service, dryRun/,
    ],
    [
      { service: 'bot', targetTaskDefinition: TD },
      /targetTaskDefinition = ".*" is not usable\. Fix: leave it out/,
    ],
    [
      { service: 'bot', to: 'latest' },
      /to = "latest" is not usable\. Fix: name a revision as a task-definition ARN/,
    ],
    [{ service: 'bot', plan: 'yes' }, /plan = "yes" is not usable/],
    [
      { service: 'bot', plan: { action: 'rewind', from: TD, to: TD } },
      /plan\.action = "rewind" is not usable/,
    ],
    [
      { service: 'bot', plan: { action: 'update-service', from: 'clever-better-bot:5', to: TD } },
      /plan\.from = "clever-better-bot:5".*full task-definition ARN/,
    ],
    [
      { service: 'bot', plan: { action: 'stop-deployment', from: TD, to: TD } },
      /plan\.deployment = undefined is not usable\. Fix: a stop plan names the deployment ARN/,
    ],
    [{ service: 'bot', plan: { action: 'update-service', from: TD, to: TD, extra: 1 } }, /plan\.extra = 1/],
    ['bot', /event = "bot" is not usable/],
  ])('fails on bad input %j, naming the field, the value and the fix', (event, message) => {
    expect(() => parseEvent(event, ALARMS)).toThrow(InputError);
    expect(() => parseEvent(event, ALARMS)).toThrow(message);
  });
});

describe('alarm events', () => {
  const direct = (value: string, alarmName = 'clever-better-staging-bot-deploy-errors') => ({
    source: 'aws.cloudwatch',
    alarmArn: `arn:aws:cloudwatch:eu-west-1:111111111111:alarm:${alarmName}`,
    time: '2026-03-01T11:59:00.000+0000',
    alarmData: {
      alarmName,
      state: { value, reason: 'Threshold Crossed', timestamp: '2026-03-01T11:58:30.000+0000' },
    },
  });
  const viaSns = (value: string) => ({
    Records: [
      {
        EventSource: 'aws:sns',
        Sns: {
          Message: JSON.stringify({
            AlarmName: 'clever-better-staging-bot-deploy-errors',
            NewStateValue: value,
            NewStateReason: 'Threshold Crossed',
            StateChangeTime: '2026-03-01T11:58:30.000+0000',
          }),
        },
      },
    ],
  });

  test.each([
    ['the payload CloudWatch sends a Lambda action', direct('ALARM')],
    ['an SNS-wrapped alarm notification', viaSns('ALARM')],
  ])('%s in ALARM rolls back the mapped service', (_, event) => {
    expect(parseEvent(event, ALARMS)).toEqual({
      kind: 'request',
      request: {
        service: 'bot',
        dryRun: false,
        requestedBy: 'CloudWatch alarm clever-better-staging-bot-deploy-errors',
        reason: 'Threshold Crossed',
        trigger: {
          kind: 'alarm',
          alarmName: 'clever-better-staging-bot-deploy-errors',
          stateChangedAt: new Date('2026-03-01T11:58:30.000Z'),
        },
      },
    });
  });

  test.each([direct('OK'), direct('INSUFFICIENT_DATA'), viaSns('OK')])(
    'a state other than ALARM is ignored',
    (event) => {
      expect(parseEvent(event, ALARMS).kind).toBe('ignore');
    },
  );

  test('fails for an alarm that is not mapped to a service', () => {
    expect(() => parseEvent(direct('ALARM', 'someone-elses-alarm'), ALARMS)).toThrow(
      /not mapped to a service in ALARM_SERVICES/,
    );
  });

  test('fails for an SNS message that is not an alarm notification', () => {
    expect(() => parseEvent({ Records: [{ Sns: { Message: 'hello' } }] }, ALARMS)).toThrow(
      /Records\[0\]\.Sns\.Message = "hello"/,
    );
  });
});

describe('configuration from the environment', () => {
  const env = {
    ENVIRONMENT_NAME: 'staging',
    CLUSTER_NAME: 'clever-better-staging',
    TOPIC_ARN: 'arn:aws:sns:eu-west-1:111111111111:oncall',
    ALARM_SERVICES: JSON.stringify(ALARMS),
    ALARM_WINDOW_HOURS: '24',
    WAIT_TIMEOUT_SECONDS: '600',
  };

  test('is read with units converted to milliseconds', () => {
    expect(loadConfig({ ...env, SERVICE_NAME: 'bot' })).toMatchObject({
      mode: 'act',
      service: 'bot',
      cluster: 'clever-better-staging',
      alarmServices: ALARMS,
      alarmWindowMs: 86_400_000,
      waitTimeoutMs: 600_000,
      pollIntervalMs: 15_000,
    });
  });

  test.each([
    [{ CLUSTER_NAME: '' }, /environment variable CLUSTER_NAME = "" is not usable/],
    [{ ALARM_SERVICES: '{bot' }, /ALARM_SERVICES = "\{bot" is not usable\. Fix: set a JSON object/],
    [
      { ALARM_SERVICES: '{"a":"db"}' },
      /ALARM_SERVICES\["a"\] = "db" is not usable\. Fix: map the alarm to bot or ml-service/,
    ],
    [{ WAIT_TIMEOUT_SECONDS: '-5' }, /WAIT_TIMEOUT_SECONDS = "-5"/],
    [{ ROLLBACK_MODE: 'both' }, /ROLLBACK_MODE = "both" is not usable\. Fix: set "plan" or "act"/],
    [{ ROLLBACK_MODE: 'act', SERVICE_NAME: undefined }, /SERVICE_NAME = undefined is not usable/],
  ])('fails on %j naming the variable', (override, message) => {
    expect(() => loadConfig({ ...env, SERVICE_NAME: 'bot', ...override })).toThrow(message);
  });
});

describe('small pieces', () => {
  test.each([
    ['111111111111.dkr.ecr.eu-west-1.amazonaws.com/clever-better-bot:v1.2.3', 'v1.2.3'],
    ['localhost:5000/clever-better-bot:v2', 'v2'],
    ['localhost:5000/clever-better-bot', 'latest'],
    ['111111111111.dkr.ecr.eu-west-1.amazonaws.com/clever-better-bot@sha256:abcd', undefined],
  ])('the tag of %s is %s', (image, tag) => {
    expect(imageTag(image)).toBe(tag);
  });

  test.each([
    [{ name: 'ThrottlingException' }, true],
    [{ name: 'CallTimeout' }, true],
    [{ name: 'ServerException' }, true],
    [{ name: 'Whatever', $metadata: { httpStatusCode: 503 } }, true],
    [{ name: 'ClientException', $metadata: { httpStatusCode: 400 } }, false],
    [{ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }, false],
  ])('%j is retryable: %s', (err, retryable) => {
    expect(isRetryable(err)).toBe(retryable);
  });
});
