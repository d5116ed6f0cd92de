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
 * (see docs/checks.md "Checks"). Each tool runs once over all four templates, and the tools run side
 * by side: a Python start-up per tool rather than per tool and template.
 *
 * `--synthesized` reads ./cdk.out as `npx cdk synth` just wrote it (CI's Quick start step) instead of
 * synthesizing again; it refuses a cdk.out older than any source, and fails on the errors that synth
 * recorded (cdk-nag's annotations, the CloudFormation validation report), as the synth's exit did.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exceptionsOf, IamReport, renderReport, Template, ToolResult } from './compliance-report';
import { IamFinding, IamTemplate, judge, policiesOf, PolicyDocument } from './iam-reference';
import { IAM_REFERENCE_EXCEPTIONS } from './iam-reference-exceptions';
import { parseScriptArgs, ScriptSpec } from '../lib/cli/script-args';
import { CHECK_PACKS } from '../lib/checks';
import { SYNTH_STAMP, SynthStamp } from '../lib/synth-stamp';

const ROOT = path.join(__dirname, '..');
const REPORT = path.join(ROOT, 'docs', 'compliance.md');
const STACKS = ['StagingRegistry', 'StagingStack', 'ProductionRegistry', 'ProductionStack'];

export const VALIDATE_USAGE: ScriptSpec = {
  command: 'npm run validate',
  description:
    'Synthesizes every stack (cdk-nag packs, CloudFormation validation), runs cfn-lint, checkov and the IAM ' +
    'reference check on every template and checks docs/compliance.md is current. Exit 0: zero unexplained ' +
    'findings; 1: findings or a stale report (listed); 2: usage. Needs `npm run tools`.',
  flags: {
    write: 'regenerate docs/compliance.md instead of checking it (npm run compliance)',
    synthesized: 'read ./cdk.out from a `npx cdk synth` just run, instead of synthesizing again',
  },
};

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

/** Runs a tool without blocking, so several run side by side. */
function runAsync(
  cmd: string,
  args: string[],
  input?: string,
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        status: code ?? 1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.end(input ?? '');
  });
}

/** Runs parliament on every policy document; pushes unexplained findings and stale exceptions to `problems`. */
async function iamCheck(
  policies: PolicyDocument[],
  problems: string[],
): Promise<{ version: string; report: IamReport }> {
  const python = tool('PYTHON', 'python');
  const input = JSON.stringify(policies.map((p, i) => ({ id: String(i), document: p.document })));
  const res = await runAsync(python, [path.join(__dirname, 'iam-reference.py')], input);
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

/** Sources a synthesis depends on: a cdk.out older than any of them is stale. */
const SOURCES = ['bin', 'lib', 'lambda', 'environments', 'migrations', 'cdk.json', 'package-lock.json'];

function newestSource(entry: string): { file: string; mtimeMs: number } {
  const full = path.resolve(ROOT, entry);
  const stat = fs.statSync(full);
  if (!stat.isDirectory()) return { file: entry, mtimeMs: stat.mtimeMs };
  let newest = { file: entry, mtimeMs: stat.mtimeMs };
  for (const child of fs.readdirSync(full)) {
    const found = newestSource(path.join(entry, child));
    if (found.mtimeMs > newest.mtimeMs) newest = found;
  }
  return newest;
}

/**
 * The errors a finished `cdk synth` recorded in `dir`: error annotations (cdk-nag) in the manifest and
 * violations in the CloudFormation validation report. Throws when `dir` is not a fresh, whole assembly.
 */
export function synthesizedErrors(dir: string, sources: string[] = SOURCES): string[] {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestFile))
    throw new Error(`--synthesized: ${manifestFile} does not exist. Run \`npx cdk synth\` first.`);
  const stampFile = path.join(dir, SYNTH_STAMP);
  if (!fs.existsSync(stampFile))
    throw new Error(
      `--synthesized: the last synthesis into ${dir} did not finish (no ${SYNTH_STAMP}: it failed, or another ` +
        'app wrote it). Run `npx cdk synth` and fix what it reports, or drop --synthesized.',
    );
  const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8')) as SynthStamp;
  if (!stamp.cloudFormationValidation)
    throw new Error(
      `--synthesized: ${dir} was synthesized without the CloudFormation validation (CDK_VALIDATION=false?). ` +
        'Run `npx cdk synth` with it, or drop --synthesized.',
    );
  const missing = Object.keys(CHECK_PACKS).filter((p) => !stamp.checks.includes(p));
  if (missing.length > 0)
    throw new Error(
      `--synthesized: ${dir} was synthesized without the cdk-nag pack(s) ${missing.join(', ')}.`,
    );
  const built = fs.statSync(stampFile).mtimeMs;
  const newest = sources
    .filter((s) => fs.existsSync(path.resolve(ROOT, s)))
    .map(newestSource)
    .reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a));
  if (newest.mtimeMs > built)
    throw new Error(
      `--synthesized: ${dir} is older than ${newest.file}. Run \`npx cdk synth\` again, or drop --synthesized.`,
    );
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as {
    artifacts?: Record<string, { metadata?: Record<string, { type: string; data: unknown }[]> }>;
  };
  const errors: string[] = [];
  for (const [artifact, { metadata = {} }] of Object.entries(manifest.artifacts ?? {}))
    for (const [construct, entries] of Object.entries(metadata))
      for (const e of entries)
        if (e.type === 'aws:cdk:error') errors.push(`${artifact}: ${construct}: ${String(e.data)}`);
  const reportFile = path.join(dir, 'validation-report.json');
  if (fs.existsSync(reportFile)) {
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as {
      pluginReports?: { pluginName: string; violations: { ruleName: string }[] }[];
    };
    for (const p of report.pluginReports ?? [])
      for (const v of p.violations) errors.push(`${p.pluginName}: ${v.ruleName}`);
  }
  return errors;
}

interface CfnLintFinding {
  Rule: { Id: string };
  Message: string;
  Filename: string;
  Location: { Path: unknown[] };
}

interface CheckovCheck {
  check_id: string;
  check_name: string;
  resource: string;
  file_abs_path: string;
}

async function main(argv: string[]): Promise<number> {
  const { exit, flags } = parseScriptArgs(argv, VALIDATE_USAGE);
  if (exit !== undefined) return exit;
  const write = flags.has('write');
  const cfnLint = tool('CFN_LINT', 'cfn-lint');
  const checkov = tool('CHECKOV', 'checkov');
  const problems: string[] = [];

  let out: string;
  let temporary = false;
  if (flags.has('synthesized')) {
    out = path.join(ROOT, 'cdk.out');
    const errors = synthesizedErrors(out);
    if (errors.length > 0) {
      for (const e of errors) console.error(`FAILED: ${e}`);
      console.error('FAILED: the synth in cdk.out recorded unacknowledged findings (above).');
      return 1;
    }
    console.log(`reading ${path.relative(ROOT, out)} (synthesized after every source; no errors recorded)`);
  } else {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'validate-'));
    temporary = true;
    console.log('synth (cdk-nag AwsSolutions + NIST 800-53 R5 + Serverless, CloudFormation validation)…');
    const synth = run('npx', ['cdk', 'synth', '--quiet', '-o', out]);
    if (synth.status !== 0) {
      console.error(synth.stdout + synth.stderr);
      console.error('FAILED: cdk synth reports unacknowledged findings (above).');
      fs.rmSync(out, { recursive: true, force: true });
      return 1;
    }
  }
  try {
    return await check(out, { cfnLint, checkov, write }, problems);
  } finally {
    if (temporary) fs.rmSync(out, { recursive: true, force: true });
  }
}

async function check(
  out: string,
  { cfnLint, checkov, write }: { cfnLint: string; checkov: string; write: boolean },
  problems: string[],
): Promise<number> {
  const files = STACKS.map((stack) => path.join(out, `${stack}.template.json`));
  const templates = files.map((file) => JSON.parse(fs.readFileSync(file, 'utf8')) as Template);
  const policies: PolicyDocument[] = STACKS.flatMap((stack, i) =>
    policiesOf(templates[i] as unknown as IamTemplate, { stack }),
  );

  // One process per tool over every template, all side by side.
  const [lint, ck, iam, toolVersions] = await Promise.all([
    runAsync(cfnLint, ['--format', 'json', ...files]),
    // --skip-download: no call to Prisma Cloud for guideline links (there is no network in CI);
    // without --quiet the passed checks are listed, which the per-stack counts need.
    runAsync(checkov, [
      ...files.flatMap((f) => ['-f', f]),
      '--framework',
      'cloudformation',
      '-o',
      'json',
      '--compact',
      '--skip-download',
    ]),
    iamCheck(policies, problems),
    // Read from the installed packages' metadata: `cfn-lint --version` and `checkov --version` would
    // each import the whole tool again.
    runAsync(tool('PYTHON', 'python'), [
      '-c',
      "import importlib.metadata as m; print(m.version('cfn-lint'), m.version('checkov'))",
    ]),
  ]);
  const [lintVersion, ckVersion] = toolVersions.stdout.trim().split(' ');
  if (toolVersions.status !== 0 || !ckVersion)
    throw new Error(`could not read the cfn-lint and checkov versions: ${toolVersions.stderr.trim()}`);
  // cfn-lint exits non-zero when it finds something; only output that is not JSON is a failure to run.
  let lintFindings: CfnLintFinding[];
  try {
    lintFindings = JSON.parse(lint.stdout || '[]') as CfnLintFinding[];
  } catch {
    throw new Error(`cfn-lint did not run (exit ${lint.status}): ${lint.stderr.trim()}`);
  }
  let ckReport: {
    summary: { passed: number; failed: number; skipped: number; parsing_errors?: number };
    results?: {
      passed_checks?: CheckovCheck[];
      failed_checks?: CheckovCheck[];
      skipped_checks?: CheckovCheck[];
    };
  };
  try {
    const ckJson = JSON.parse(ck.stdout);
    ckReport = Array.isArray(ckJson) ? ckJson[0] : ckJson;
  } catch {
    throw new Error(
      `checkov did not run (exit ${ck.status}): ${ck.stderr.trim().split('\n').slice(-3).join(' ')}`,
    );
  }
  if ((ckReport.summary.parsing_errors ?? 0) > 0)
    problems.push(`checkov could not parse ${ckReport.summary.parsing_errors} template(s)`);

  const results: Record<string, Record<string, ToolResult>> = {};
  const exceptions = [];
  for (const [i, stack] of STACKS.entries()) {
    const file = path.resolve(files[i]);
    const stackExceptions = exceptionsOf(stack, templates[i]);
    exceptions.push(...stackExceptions);
    const count = (t: string) => stackExceptions.filter((e) => e.tool === t).length;
    const mine = lintFindings.filter((f) => path.resolve(ROOT, f.Filename) === file);
    for (const f of mine)
      problems.push(`${stack}: cfn-lint ${f.Rule.Id} ${f.Message} at ${JSON.stringify(f.Location.Path)}`);
    const of = (checks: CheckovCheck[] = []) => checks.filter((c) => path.resolve(c.file_abs_path) === file);
    const failed = of(ckReport.results?.failed_checks);
    for (const f of failed)
      problems.push(`${stack}: checkov ${f.check_id} (${f.check_name}) on ${f.resource}`);
    const summary = {
      passed: of(ckReport.results?.passed_checks).length,
      failed: failed.length,
      skipped: of(ckReport.results?.skipped_checks).length,
    };
    results[stack] = {
      'cdk-nag (AwsSolutions, NIST 800-53 R5, Serverless)': {
        passed: null,
        failed: 0,
        skipped: count('cdk-nag'),
      },
      'CloudFormation validation': { passed: null, failed: 0, skipped: count('CloudFormation validation') },
      'cfn-lint': { passed: null, failed: mine.length, skipped: count('cfn-lint') },
      checkov: summary,
    };
    console.log(
      `${stack}: cfn-lint ${mine.length} findings; checkov ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`,
    );
  }
  // Every finding belongs to a template: one that matched none would be lost from the counts.
  const attributed = new Set(files.map((f) => path.resolve(f)));
  for (const f of lintFindings)
    if (!attributed.has(path.resolve(ROOT, f.Filename)))
      problems.push(`cfn-lint ${f.Rule.Id} on ${f.Filename}, which is not one of the templates`);
  const checkovTotal = Object.values(results).reduce((n, r) => n + (r.checkov.passed ?? 0), 0);
  if (checkovTotal !== ckReport.summary.passed)
    problems.push(
      `checkov passed ${ckReport.summary.passed} checks but ${checkovTotal} were attributed to the templates`,
    );

  const versions = {
    parliament: iam.version,
    'cfn-lint': lintVersion,
    checkov: ckVersion,
    'cdk-nag': JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'cdk-nag', 'package.json'), 'utf8'))
      .version,
  };
  const report = renderReport({ stacks: STACKS, results, exceptions, versions, iam: iam.report });

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

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: Error) => {
      console.error(`validate: ${err.message}`);
      process.exitCode = 1;
    },
  );
}
