/**
 * The time-to-page model over production's synthesized template: every incident class reaches its
 * route within its bound, and the pages that must stay open do. The table is printed, and
 * docs/runbooks.md carries the same table (generated: npm run docs:monitoring).
 *
 * AWS behaviour the model encodes: CloudWatch User Guide "Alarm evaluation windows" (sliding window,
 * evaluated every minute), "Configuring how CloudWatch alarms treat missing data", CloudWatch API
 * Reference "CompositeAlarm" (ActionsSuppressorWaitPeriod / ExtensionPeriod).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { production } from '../environments';
import { INCIDENT_CLASSES } from '../lib/monitoring/incidents';
import { monitoringNames } from '../lib/monitoring/names';
import { fmt, renderIncidentTable, ruleMinutes, timeToPage } from '../lib/monitoring/time-to-page';
import { generatedBlock, normalizeTables } from '../scripts/monitoring-docs';
import { synthesized } from './helpers/app';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const prefix = monitoringNames(production.name).alarmPrefix;
const template = (): Json => JSON.parse(JSON.stringify(synthesized('production').template.toJSON()));
const logicalIdOf = (t: Json, symptom: string) =>
  Object.entries(t.Resources as Record<string, Json>).find(
    ([, r]) => r.Properties?.AlarmName === `${prefix}-${symptom}`,
  )![0];

describe('time to page, production', () => {
  const results = timeToPage(template(), prefix, INCIDENT_CLASSES);

  test('prints the table', () => {
    const lines = results.map(
      (r) =>
        `${r.incident.id.padEnd(26)} ${`${fmt(r.minutes)} min`.padStart(9)} / ${String(r.incident.boundMinutes).padStart(2)} min  open until acted on: ${r.staysOpen ? 'yes' : 'no '}  ${r.paths.map((p) => `${p.via}=${fmt(p.minutes)}`).join(', ')}`,
    );
    console.log(`Time to page (production, worst case)\n${lines.join('\n')}`);
    expect(results).toHaveLength(INCIDENT_CLASSES.length);
  });

  test.each(INCIDENT_CLASSES.map((c) => [c.id]))('%s reaches its route within its bound', (id) => {
    const r = results.find((x) => x.incident.id === id)!;
    expect({ id, problems: r.problems }).toEqual({ id, problems: [] });
    // Non-vacuous: a finite time, from at least one path the model followed through the template.
    expect(r.minutes).toBeLessThanOrEqual(r.incident.boundMinutes);
    expect(r.paths.some((p) => p.minutes !== Infinity && !p.bestEffort)).toBe(true);
  });

  test('ml-5xx judges low traffic too: below the request gate an absolute error count decides', () => {
    const t = template();
    const alarm = t.Resources[logicalIdOf(t, 'ml-5xx')].Properties;
    const expression = (alarm.Metrics as Json[]).find((m) => m.Expression)!.Expression as string;
    // IF(requests >= gate, rate, IF(errors >= n, 100, 0)): the else branch is not a constant 0.
    expect(expression).toMatch(
      new RegExp(
        `>= ${production.monitoring.minRequestsPer5Minutes}, .*, IF\\(FILL\\(mlErrors, 0\\) >= \\d+, 100, 0\\)\\)$`,
      ),
    );
  });

  test('the stop’s triggers and its failure stay open until a person acts', () => {
    for (const id of ['risk-triggers', 'stop-failed']) {
      expect(results.find((r) => r.incident.id === id)!.staysOpen).toBe(true);
    }
  });

  test('docs/runbooks.md carries the generated table (npm run docs:monitoring)', () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'runbooks.md'), 'utf8');
    expect(normalizeTables(generatedBlock(doc, 'time-to-page') ?? '')).toBe(
      normalizeTables(renderIncidentTable(results)),
    );
  });
});

describe('the model fails the template it should fail', () => {
  const problemsOf = (t: Json, id: string) =>
    timeToPage(t, prefix, INCIDENT_CLASSES).find((r) => r.incident.id === id)!.problems;

  test('fails a 600 s wait period on trading-impaired', () => {
    const t = template();
    t.Resources[logicalIdOf(t, 'trading-impaired')].Properties.ActionsSuppressorWaitPeriod = 600;
    expect(problemsOf(t, 'betfair-session-expired').join('\n')).toMatch(/exceeds the bound of 5 min/);
  });

  test('fails when the RDS availability category is removed', () => {
    const t = template();
    for (const r of Object.values(t.Resources as Record<string, Json>)) {
      if (r.Type !== 'AWS::RDS::EventSubscription') continue;
      r.Properties.EventCategories = (r.Properties.EventCategories as string[]).filter(
        (c) => c !== 'availability',
      );
    }
    expect(problemsOf(t, 'database-down').join('\n')).toMatch(
      /no enabled RDS event subscription sends availability/,
    );
  });

  test('fails an OK action on emergency-stop-failed', () => {
    const t = template();
    const resolved = t.Outputs.ResolvedTopicArn.Value;
    t.Resources[logicalIdOf(t, 'emergency-stop-failed')].Properties.OKActions = [resolved];
    expect(problemsOf(t, 'stop-failed').join('\n')).toMatch(
      /emergency-stop-failed has an OK action, so the page resolves itself/,
    );
  });

  test('fails a suppressor that reads a metric the fault moves (the bot’s own flag)', () => {
    const t = template();
    const halted = t.Resources[logicalIdOf(t, 'trading-halted')].Properties;
    halted.MetricName = 'LiveTradingEnabled';
    halted.Namespace = 'CleverBetter';
    expect(problemsOf(t, 'config-unreadable').join('\n')).toMatch(/the fault itself raises the suppressor/);
  });

  test('fails a silent-metric path whose missing data is not breaching', () => {
    const t = template();
    t.Resources[logicalIdOf(t, 'database-connections-dropped')].Properties.TreatMissingData = 'notBreaching';
    t.Resources[logicalIdOf(t, 'database-storage-exhausted')].Properties.TreatMissingData = 'notBreaching';
    expect(problemsOf(t, 'database-down').join('\n')).toMatch(/a metric that stops never alarms/);
  });
});

describe('composite rules', () => {
  test('OR is the earliest child, AND the latest, NOT ALARM is true from the start', () => {
    const times: Record<string, number> = { A: 2, B: 7 };
    const t = (id: string) => times[id] ?? Infinity;
    expect(ruleMinutes('ALARM({{A}}) OR ALARM({{B}})', t)).toBe(2);
    expect(ruleMinutes('(ALARM({{A}}) AND ALARM({{B}}))', t)).toBe(7);
    expect(ruleMinutes('ALARM({{A}}) AND NOT ALARM({{C}})', t)).toBe(2);
    expect(ruleMinutes('ALARM({{C}})', t)).toBe(Infinity);
  });
});
