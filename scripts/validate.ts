/**
 * `npm run validate`: synthesizes both stacks (cdk-nag's three packs and the CloudFormation validation
 * run inside the synth), runs cfn-lint and checkov on every template, and checks docs/compliance.md
 * is current. Exits 1 on any finding that is not a declared exception, or on a stale report.
 * `npm run compliance` (`--write`) regenerates the report instead of checking it.
 *
 * It also runs the IAM reference check: parliament on every IAM policy document (scripts/iam-reference.ts),
 * failing on findings not in scripts/iam-reference-exceptions.ts and on exceptions that match nothing.
 *
 * Python tools: CFN_LINT / CHECKOV / PYTHON (with parliament), or .venv/bin/{cfn-lint,checkov,python}
 * (see docs/checks.md "Checks").
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exceptionsOf, IamReport, renderReport, Template, ToolResult } from './compliance-report';
import { IamFinding, IamTemplate, judge, policiesOf, PolicyDocument } from './iam-reference';
import { IAM_REFERENCE_EXCEPTIONS } from './iam-reference-exceptions';

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

/** Runs parliament on every policy document; pushes unexplained findings and stale exceptions to `problems`. */
function iamCheck(policies: PolicyDocument[], problems: string[]): { version: string; report: IamReport } {
  const python = tool('PYTHON', 'python');
  const input = JSON.stringify(policies.map((p, i) => ({ id: String(i), document: p.document })));
  const res = spawnSync(python, [path.join(__dirname, 'iam-reference.py')], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.error) throw res.error;
  if (res.status !== 0) {
    throw new Error(
      `IAM reference check (parliament) failed: ${res.stderr.trim()}. Install it: npm run tools.`,
    );
  }
  const raw = JSON.parse(res.stdout) as {
    version: string;
    findings: { id: string; issue: string; detail: string; location: string }[];
  };
  const findings: IamFinding[] = raw.findings.map((f) => {
    const p = policies[Number(f.id)];
    return { stack: p.stack, path: p.path, issue: f.issue, detail: f.detail, location: f.location };
  });
  const verdict = judge(findings, IAM_REFERENCE_EXCEPTIONS);
  for (const f of verdict.unexplained) {
    problems.push(`${f.stack}: parliament ${f.issue} ${f.detail} in ${f.path}`);
  }
  for (const e of verdict.unused) {
    problems.push(
      `IAM reference exception ${e.issue} ${e.action} matches no finding any more: remove it from scripts/iam-reference-exceptions.ts`,
    );
  }
  const policyCount: Record<string, number> = {};
  for (const p of policies) policyCount[p.stack] = (policyCount[p.stack] ?? 0) + 1;
  console.log(
    `IAM reference check (parliament ${raw.version}): ${policies.length} policies, ${findings.length} findings, ` +
      `${verdict.unexplained.length} unexplained, ${verdict.unused.length} stale exceptions`,
  );
  return {
    version: raw.version,
    report: {
      policies: policyCount,
      findings: findings.length,
      unexplained: verdict.unexplained.length,
      accepted: verdict.accepted.map((a) => ({ ...a.exception, count: a.findings.length })),
    },
  };
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
  const policies: PolicyDocument[] = [];
  for (const stack of STACKS) {
    const file = path.join(out, `${stack}.template.json`);
    const template = JSON.parse(fs.readFileSync(file, 'utf8')) as Template;
    policies.push(...policiesOf(template as unknown as IamTemplate, { stack }));
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

  const iam = iamCheck(policies, problems);

  const versions = {
    parliament: iam.version,
    'cfn-lint': run(cfnLint, ['--version'])
      .stdout.trim()
      .replace(/^cfn-lint\s*/, ''),
    checkov: run(checkov, ['--version']).stdout.trim(),
    'cdk-nag': JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'cdk-nag', 'package.json'), 'utf8'))
      .version,
  };
  const report = renderReport({ stacks: STACKS, results, exceptions, versions, iam: iam.report });
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
