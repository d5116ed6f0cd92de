/**
 * `npm run docs:monitoring`: writes the generated parts of the monitoring docs from the synthesized
 * templates, so they cannot drift from what is deployed:
 * - docs/runbooks.md "Time to page": the time-to-page model over production (lib/monitoring/incidents.ts);
 * - docs/metrics.md "Alarms": every alarm of production, and staging's rows where they differ.
 * Each part sits between `<!-- generated:<name> -->` and `<!-- /generated:<name> -->`; the tests
 * (test/time-to-page.test.ts, test/monitoring-docs.test.ts) fail when a part is stale.
 */
import { App } from 'aws-cdk-lib';
import * as fs from 'node:fs';
import { parseScriptArgs } from '../lib/cli/script-args';
import * as path from 'node:path';
import { environments } from '../environments';
import { EnvironmentConfig } from '../environments/types';
import { addEnvironmentStacks } from '../lib/app';
import { alarmRows, renderAlarmTable } from '../lib/monitoring/alarm-table';
import { INCIDENT_CLASSES } from '../lib/monitoring/incidents';
import { monitoringNames } from '../lib/monitoring/names';
import { renderIncidentTable, timeToPage } from '../lib/monitoring/time-to-page';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = path.join(__dirname, '..');

/** The text between the markers of part `name`, or undefined when the markers are missing. */
export function generatedBlock(doc: string, name: string): string | undefined {
  const m = new RegExp(`<!-- generated:${name} -->\\n([\\s\\S]*?)\\n?<!-- /generated:${name} -->`).exec(doc);
  return m?.[1].trim();
}

/** `doc` with part `name` replaced by `text`; throws when the markers are missing. */
export function replaceBlock(doc: string, name: string, text: string): string {
  if (generatedBlock(doc, name) === undefined) {
    throw new Error(`markers <!-- generated:${name} --> … <!-- /generated:${name} --> not found`);
  }
  return doc.replace(
    new RegExp(`(<!-- generated:${name} -->\\n)[\\s\\S]*?\\n?<!-- /generated:${name} -->`),
    // Blank lines around the part, as prettier leaves markdown after an HTML comment.
    (_m, open: string) => `${open}\n${text}\n\n<!-- /generated:${name} -->`,
  );
}

/**
 * Markdown with its tables' padding removed (cells trimmed, separator rows as `---`), so a part
 * compares equal whether or not prettier aligned its columns. Prettier needs dynamic imports,
 * which the tests' module system does not offer.
 */
export function normalizeTables(markdown: string): string {
  return markdown
    .split('\n')
    .map((line) => {
      if (!line.startsWith('|')) return line.trimEnd();
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim());
      return `| ${cells.map((c) => (/^:?-+:?$/.test(c) ? '---' : c)).join(' | ')} |`;
    })
    .join('\n');
}

/** `markdown` as `prettier --write` leaves it in `docs/<file>`, so `npm run lint` accepts the docs. */
export async function formatted(markdown: string, file: string): Promise<string> {
  const full = path.join(ROOT, 'docs', file);
  // Loaded only here: prettier imports its plugins dynamically, which the tests' module system refuses.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(full)) ?? {};
  return (await prettier.format(markdown, { ...options, parser: 'markdown' })).trimEnd();
}

/** The time-to-page table of production. */
export function incidentTable(production: Json): string {
  return renderIncidentTable(
    timeToPage(production, monitoringNames('production').alarmPrefix, INCIDENT_CLASSES),
  );
}

/** Production's alarm table, then staging's rows that differ from production's. */
export function alarmTables(templates: Record<string, Json>): string {
  const prod = alarmRows(templates.production, monitoringNames('production').alarmPrefix);
  const stag = alarmRows(templates.staging, monitoringNames('staging').alarmPrefix);
  const same = new Set(prod.map((r) => JSON.stringify(r)));
  const differs = stag.filter((r) => !same.has(JSON.stringify(r)));
  const onlyProd = prod
    .filter((r) => !stag.some((s) => s.symptom === r.symptom))
    .map((r) => `\`${r.symptom}\``);
  return [
    '**Production:**',
    '',
    renderAlarmTable(prod),
    '',
    `**Staging**, where it differs (staging pages nobody: its pages are tickets). Production only: ${onlyProd.join(', ') || 'none'}.`,
    '',
    renderAlarmTable(differs),
  ].join('\n');
}

/** Both stacks' templates, synthesized without bundling Lambda code. */
export function synthesizeTemplates(
  configs: readonly EnvironmentConfig[] = environments,
): Record<string, Json> {
  const context = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
  // Synth output under the clone (gitignored cdk.out.*), removed after: nothing is left in /tmp.
  const outdir = path.join(ROOT, 'cdk.out.docs');
  const app = new App({ outdir, context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  try {
    const { stacks } = addEnvironmentStacks(app, configs);
    const assembly = app.synth();
    return Object.fromEntries(
      stacks.map((s) => [s.config.name, assembly.getStackByName(s.stackName).template as Json]),
    );
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const templates = synthesizeTemplates();
  const write = async (file: string, name: string, text: string) => {
    const full = path.join(ROOT, 'docs', file);
    const before = fs.readFileSync(full, 'utf8');
    const after = replaceBlock(before, name, await formatted(text, file));
    if (after !== before) fs.writeFileSync(full, after);
    console.log(`docs/${file} ${name}: ${after === before ? 'up to date' : 'written'}`);
  };
  await write('runbooks.md', 'time-to-page', incidentTable(templates.production));
  await write('metrics.md', 'alarms', alarmTables(templates));
}

export const MONITORING_DOCS_USAGE = {
  command: 'npm run docs:monitoring',
  description:
    'Writes the generated parts of docs/runbooks.md (time to page) and docs/metrics.md (alarms) from the ' +
    'synthesized templates. Exit 0: written or already current; 1: failed; 2: usage.',
};

if (require.main === module) {
  const { exit } = parseScriptArgs(process.argv.slice(2), MONITORING_DOCS_USAGE);
  if (exit !== undefined) process.exit(exit);
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
