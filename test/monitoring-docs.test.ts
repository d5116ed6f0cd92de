/**
 * The monitoring docs say what is deployed: docs/metrics.md's alarm tables are generated from the
 * synthesized templates, and no page of docs/ names an alarm the templates lack.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitoringNames } from '../lib/monitoring/names';
import { runbookNames } from '../lib/names';
import { routingOf } from '../lib/monitoring/severity';
import { alarmTables, generatedBlock, normalizeTables } from '../scripts/monitoring-docs';
import { ENVIRONMENT_NAMES, synthesized } from './helpers/app';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DOCS = path.join(__dirname, '..', 'docs');
const templates: Record<string, Json> = Object.fromEntries(
  ENVIRONMENT_NAMES.map((env) => [env, synthesized(env).template.toJSON()]),
);

/** Every alarm symptom of an environment's template (`clever-better-<env>-<symptom>`). */
function symptoms(env: string): Set<string> {
  const prefix = `${monitoringNames(env as 'staging').alarmPrefix}-`;
  return new Set(
    Object.values(templates[env].Resources as Record<string, Json>)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm' || r.Type === 'AWS::CloudWatch::CompositeAlarm')
      .map((r) => String(r.Properties.AlarmName).slice(prefix.length)),
  );
}

/** `{bot,ml}-x` → `bot-x`, `ml-x`. */
function expandBraces(name: string): string[] {
  const m = /\{([^}]+)\}/.exec(name);
  if (!m) return [name];
  return m[1].split(',').flatMap((part) => expandBraces(name.replace(m[0], part)));
}

/** Whether `name` (possibly with `*` wildcards) names at least one of `known`. */
function exists(name: string, known: Set<string>): boolean {
  if (!name.includes('*')) return known.has(name);
  const re = new RegExp(
    `^${name
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return [...known].some((s) => re.test(s));
}

test('docs/metrics.md carries the alarm tables generated from the templates (npm run docs:monitoring)', () => {
  const doc = fs.readFileSync(path.join(DOCS, 'metrics.md'), 'utf8');
  expect(normalizeTables(generatedBlock(doc, 'alarms') ?? '')).toBe(normalizeTables(alarmTables(templates)));
});

test('no page of docs/ names an alarm the templates lack', () => {
  const byEnv = Object.fromEntries(ENVIRONMENT_NAMES.map((env) => [env, symptoms(env)]));
  const any = new Set(Object.values(byEnv).flatMap((s) => [...s]));
  // An alarm's family is its first word (bot, ml, database, emergency, …), taken from the templates.
  const families = new Set([...any].map((s) => s.split('-')[0]));
  // Names of other things the runbooks use (services `bot`, `ml-service`, log groups, secrets …).
  const otherNames = new Set(
    ENVIRONMENT_NAMES.flatMap((env) => Object.values(runbookNames(env as never)).map(String)),
  );
  const problems: string[] = [];
  let checked = 0;
  for (const file of fs.readdirSync(DOCS).filter((f) => f.endsWith('.md'))) {
    const lines = fs.readFileSync(path.join(DOCS, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      const where = `docs/${file}:${i + 1}`;
      // Full names: clever-better-production-x, clever-better-<env>-x, with {a,b} alternatives.
      for (const m of line.matchAll(/clever-better-(production|staging|<env>)-([a-z0-9{},*-]*[a-z0-9}*])/g)) {
        const known = m[1] === '<env>' ? any : byEnv[m[1]];
        for (const name of expandBraces(m[2])) {
          checked++;
          if (!exists(name, known)) problems.push(`${where}: ${m[0]} (${name}) is not an alarm of ${m[1]}`);
        }
      }
      // Short names in prose about alarms (tables name other things too: diff rules, steps, services).
      if (line.startsWith('|') || !/alarm/i.test(line)) return;
      for (const m of line.matchAll(/`([a-z0-9*]+(?:-[a-z0-9*{},]+)+)`/g)) {
        if ((!families.has(m[1].split('-')[0]) && !m[1].startsWith('*')) || otherNames.has(m[1])) continue;
        for (const name of expandBraces(m[1])) {
          checked++;
          if (!exists(name, any)) problems.push(`${where}: \`${name}\` is not an alarm of any environment`);
        }
      }
    });
  }
  expect(problems).toEqual([]);
  expect(checked).toBeGreaterThan(20);
});

test('the runbook section each paging alarm links to names that alarm', () => {
  const text = fs.readFileSync(path.join(DOCS, 'runbooks.md'), 'utf8');
  // Sections by GitHub anchor: `## Bot stopped trading` → bot-stopped-trading.
  const sections = new Map<string, string>();
  for (const part of text.split(/^## /m).slice(1)) {
    const [heading, ...body] = part.split('\n');
    sections.set(
      heading
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
      body.join('\n'),
    );
  }
  const problems: string[] = [];
  let checked = 0;
  for (const env of ENVIRONMENT_NAMES) {
    for (const symptom of symptoms(env)) {
      const row = routingOf(symptom);
      if (row?.severity !== 'page') continue;
      checked++;
      const body = sections.get(row.runbook) ?? '';
      if (!body.includes(symptom))
        problems.push(`${symptom} links to #${row.runbook}, which does not name it`);
    }
  }
  expect([...new Set(problems)]).toEqual([]);
  expect(checked).toBeGreaterThan(10);
});
