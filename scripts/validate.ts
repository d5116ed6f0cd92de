/**
 * `npm run validate`: synthesizes both stacks (cdk-nag's three packs and the CloudFormation validation
 * run inside the synth), runs cfn-lint and checkov on every template, and checks docs/compliance.md
 * is current. Exits 1 on any finding that is not a declared exception, or on a stale report.
 * `npm run compliance` (`--write`) regenerates the report instead of checking it.
 *
 * Python tools: CFN_LINT / CHECKOV, or .venv/bin/{cfn-lint,checkov} (see README "Checks").
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exceptionsOf, renderReport, Template, ToolResult } from './compliance-report';

const ROOT = path.join(__dirname, '..');
const REPORT = path.join(ROOT, 'docs', 'compliance.md');
const STACKS = ['StagingRegistry', 'StagingStack', 'ProductionRegistry', 'ProductionStack'];
const write = process.argv.includes('--write');

function tool(envVar: string, name: string): string {
  const bin = process.env[envVar] ?? path.join(ROOT, '.venv', 'bin', name);
  if (!fs.existsSync(bin)) {
    throw new Error(
      `${name} not found at ${bin}. Install the pinned Python tools: ` +
        'npm run tools (or set ' +
        envVar +
        ').',
    );
  }
  return bin;
}

function run(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const res = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (res.error) throw res.error;
  return { status: res.status ?? 1, stdout: res.stdout, stderr: res.stderr };
}

function main(): number {
  const cfnLint = tool('CFN_LINT', 'cfn-lint');
  const checkov = tool('CHECKOV', 'checkov');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'validate-'));
  const problems: string[] = [];

  console.log('synth (cdk-nag AwsSolutions + NIST 800-53 R5 + Serverless, CloudFormation validation)…');
  const synth = run('npx', ['cdk', 'synth', '--quiet', '-o', out]);
  if (synth.status !== 0) {
    console.error(synth.stdout + synth.stderr);
    console.error('FAILED: cdk synth reports unacknowledged findings (above).');
    return 1;
  }

  const results: Record<string, Record<string, ToolResult>> = {};
  const exceptions = [];
  for (const stack of STACKS) {
    const file = path.join(out, `${stack}.template.json`);
    const template = JSON.parse(fs.readFileSync(file, 'utf8')) as Template;
    const stackExceptions = exceptionsOf(stack, template);
    exceptions.push(...stackExceptions);
    const count = (t: string) => stackExceptions.filter((e) => e.tool === t).length;

    const lint = run(cfnLint, ['--format', 'json', file]);
    const lintFindings = JSON.parse(lint.stdout || '[]') as {
      Rule: { Id: string };
      Message: string;
      Location: { Path: unknown[] };
    }[];
    for (const f of lintFindings)
      problems.push(`${stack}: cfn-lint ${f.Rule.Id} ${f.Message} at ${JSON.stringify(f.Location.Path)}`);

    const ck = run(checkov, [
      '-f',
      file,
      '--framework',
      'cloudformation',
      '-o',
      'json',
      '--quiet',
      '--compact',
    ]);
    const ckJson = JSON.parse(ck.stdout);
    const ckReport = Array.isArray(ckJson) ? ckJson[0] : ckJson;
    const summary = ckReport.summary as { passed: number; failed: number; skipped: number };
    for (const f of ckReport.results?.failed_checks ?? []) {
      problems.push(`${stack}: checkov ${f.check_id} (${f.check_name}) on ${f.resource}`);
    }
    results[stack] = {
      'cdk-nag (AwsSolutions, NIST 800-53 R5, Serverless)': {
        passed: null,
        failed: 0,
        skipped: count('cdk-nag'),
      },
      'CloudFormation validation': { passed: null, failed: 0, skipped: count('CloudFormation validation') },
      'cfn-lint': { passed: null, failed: lintFindings.length, skipped: count('cfn-lint') },
      checkov: { passed: summary.passed, failed: summary.failed, skipped: summary.skipped },
    };
    console.log(
      `${stack}: cfn-lint ${lintFindings.length} findings; checkov ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`,
    );
  }

  const versions = {
    'cfn-lint': run(cfnLint, ['--version'])
      .stdout.trim()
      .replace(/^cfn-lint\s*/, ''),
    checkov: run(checkov, ['--version']).stdout.trim(),
    'cdk-nag': JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'cdk-nag', 'package.json'), 'utf8'))
      .version,
  };
  const report = renderReport({ stacks: STACKS, results, exceptions, versions });
  fs.rmSync(out, { recursive: true, force: true });

  if (write) {
    fs.mkdirSync(path.dirname(REPORT), { recursive: true });
    fs.writeFileSync(REPORT, report);
    console.log(`wrote ${path.relative(ROOT, REPORT)}`);
  } else if (!fs.existsSync(REPORT) || fs.readFileSync(REPORT, 'utf8') !== report) {
    problems.push('docs/compliance.md is out of date: run `npm run compliance` and review the diff');
  }
  for (const p of problems) console.error(`FAILED: ${p}`);
  if (problems.length === 0) console.log('validate: zero unexplained findings');
  return problems.length === 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`validate: ${(err as Error).message}`);
  process.exitCode = 1;
}
