/**
 * The pager replay the drill uses (lib/monitoring/paging-simulator.ts), on production's template:
 * CloudWatch API Reference "CompositeAlarm" (wait, suppression, extension) and the alarms' own actions.
 */
import { production } from '../environments';
import { monitoringNames } from '../lib/monitoring/names';
import { AlarmChange, simulatePaging } from '../lib/monitoring/paging-simulator';
import { synthesized } from './helpers/app';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const prefix = monitoringNames(production.name).alarmPrefix;
const template = (): Json => JSON.parse(JSON.stringify(synthesized('production').template.toJSON()));
const symptoms = (at: number): AlarmChange[] => [
  { at, alarm: 'bot-scaled-to-zero', state: 'ALARM' },
  { at, alarm: 'bot-silent', state: 'ALARM' },
];

test('trading-impaired pages after its wait period when nothing suppresses it', () => {
  const { events } = simulatePaging(template(), prefix, symptoms(0), 30);
  const page = events.find((e) => e.alarm === 'trading-impaired' && e.event === 'page');
  expect(page?.at).toBe(1);
});

test('the stop’s marker suppresses it, and a restart inside the extension period does not page', () => {
  const { events } = simulatePaging(
    template(),
    prefix,
    [
      { at: 0, alarm: 'trading-halted', state: 'ALARM' },
      ...symptoms(3),
      { at: 30, alarm: 'trading-halted', state: 'OK' },
      { at: 35, alarm: 'bot-scaled-to-zero', state: 'OK' },
      { at: 35, alarm: 'bot-silent', state: 'OK' },
    ],
    60,
  );
  expect(events.filter((e) => e.alarm === 'trading-impaired')).toEqual([]);
});

test('a bot still down after the extension period pages', () => {
  const { events } = simulatePaging(
    template(),
    prefix,
    [
      { at: 0, alarm: 'trading-halted', state: 'ALARM' },
      ...symptoms(3),
      { at: 30, alarm: 'trading-halted', state: 'OK' },
    ],
    60,
  );
  const page = events.find((e) => e.alarm === 'trading-impaired' && e.event === 'page');
  expect(page?.at).toBe(45);
});

test('a failed stop’s page stays open when its errors age out; with an OK action it would resolve itself', () => {
  const changes: AlarmChange[] = [
    { at: 0, alarm: 'emergency-stop-failed', state: 'ALARM' },
    { at: 5, alarm: 'emergency-stop-failed', state: 'OK', cause: 'missing' },
  ];
  expect(simulatePaging(template(), prefix, changes, 60).open).toContain('emergency-stop-failed');
  // Break it: an OK action and missing data not ignored, as before.
  const t = template();
  const failed = Object.values(t.Resources as Record<string, Json>).find(
    (r) => r.Properties?.AlarmName === `${prefix}-emergency-stop-failed`,
  )!;
  failed.Properties.OKActions = [t.Outputs.ResolvedTopicArn.Value];
  failed.Properties.TreatMissingData = 'notBreaching';
  expect(simulatePaging(t, prefix, changes, 60).open).not.toContain('emergency-stop-failed');
});
