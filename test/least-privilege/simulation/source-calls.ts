import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..', '..');
export const OPS_DIR = path.join(ROOT, 'lib', 'ops');

/** SDK v3 client package → IAM service prefix. A package missing here fails the test, naming it. */
const IAM_PREFIX: Record<string, string> = {
  'client-cloudformation': 'cloudformation',
  'client-cloudwatch': 'cloudwatch',
  'client-cloudwatch-logs': 'logs',
  'client-ecs': 'ecs',
  'client-lambda': 'lambda',
  'client-secrets-manager': 'secretsmanager',
  'client-sns': 'sns',
  'client-sts': 'sts',
  'client-iam': 'iam',
  'client-ec2': 'ec2',
  'client-ecr': 'ecr',
  'client-rds': 'rds',
  'client-service-quotas': 'servicequotas',
  'client-application-auto-scaling': 'application-autoscaling',
  'client-ssm': 'ssm',
  'client-s3': 's3',
};
/** SDK commands whose IAM action is not the command's name (IAM service authorization reference). */
const ACTION_OF_COMMAND: Record<string, string> = {
  'lambda:Invoke': 'lambda:InvokeFunction',
  'lambda:InvokeWithResponseStream': 'lambda:InvokeFunction',
  's3:ListObjectsV2': 's3:ListBucket',
  'sts:GetCallerIdentity': '', // needs no permission
};

export interface SourceFile {
  readonly actions: Set<string>;
  /** Per action, the argument text of each call (`{ SecretId: configSecretId }`). */
  readonly callArgs: Map<string, string[]>;
  readonly imports: string[];
  readonly registers: string[];
  readonly text: string;
}

/** The SDK calls one source file makes (`new XxxCommand(` of an `@aws-sdk/client-*` import) and its relative imports. */
export function readSource(file: string): SourceFile {
  const text = fs.readFileSync(file, 'utf8');
  const packageOf = new Map<string, string>();
  for (const m of text.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+'@aws-sdk\/([^']+)'/g)) {
    if (m[1]) continue;
    for (const name of m[2]
      .split(',')
      .map((n) => n.trim().split(/\s+as\s+/)[0])
      .filter(Boolean)) {
      packageOf.set(name, m[3]);
    }
  }
  const actions = new Set<string>();
  const callArgs = new Map<string, string[]>();
  for (const m of text.matchAll(/new\s+(\w+)Command\s*\(/g)) {
    const pkg = packageOf.get(`${m[1]}Command`);
    if (!pkg) throw new Error(`${file}: new ${m[1]}Command( is not imported from an @aws-sdk client package`);
    const prefix = IAM_PREFIX[pkg];
    if (!prefix)
      throw new Error(
        `${file}: @aws-sdk/${pkg} has no IAM prefix in source-calls.ts IAM_PREFIX. Fix: add it`,
      );
    const raw = `${prefix}:${m[1]}`;
    const action = raw in ACTION_OF_COMMAND ? ACTION_OF_COMMAND[raw] : raw;
    if (action) {
      actions.add(action);
      callArgs.set(action, [...(callArgs.get(action) ?? []), argumentText(text, m.index + m[0].length)]);
    }
  }
  const imports = [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'(\.[^']+)'/gms)].map((m) => m[1]);
  const registers = [...text.matchAll(/registerCommand\(\s*'([^']+)'/g)].map((m) => m[1]);
  return { actions, callArgs, imports, registers, text };
}

/** The text between the `(` just before `start` and its matching `)`. */
function argumentText(text: string, start: number): string {
  let depth = 1;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '(') depth++;
    if (text[i] === ')' && --depth === 0) return text.slice(start, i);
  }
  return text.slice(start);
}

function resolveImport(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  return [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
}

/** Every source file reachable from `file` through its (non-type) relative imports, `file` first. */
export function reachableFiles(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const out = [file];
  for (const spec of readSource(file).imports) {
    const target = resolveImport(file, spec);
    // The CLI's index registers every command: following it would give each command all the others' calls.
    if (target && !target.endsWith(path.join('lib', 'ops', 'index.ts')))
      out.push(...reachableFiles(target, seen));
  }
  return out;
}

/** What a piece of code calls: its IAM actions and the text of every file it reaches. */
export interface CodeCalls {
  /** Entry file, relative to the repository. */
  readonly entry: string;
  readonly actions: Set<string>;
  /** Per action, the argument text of each of its calls. */
  readonly callArgs: Map<string, string[]>;
  readonly text: string;
}

export function codeCalls(files: readonly string[], entry: string): CodeCalls {
  const actions = new Set<string>();
  const callArgs = new Map<string, string[]>();
  let text = '';
  for (const f of new Set(files)) {
    const source = readSource(f);
    source.actions.forEach((a) => actions.add(a));
    for (const [a, args] of source.callArgs) callArgs.set(a, [...(callArgs.get(a) ?? []), ...args]);
    text += `${source.text}\n`;
  }
  return { entry: path.relative(ROOT, entry), actions, callArgs, text };
}

/** Command name → what it calls, found from the sources of lib/ops/ (plus the context every command builds). */
export function commandCalls(): Map<string, CodeCalls> {
  const context = reachableFiles(path.join(OPS_DIR, 'context.ts'));
  const result = new Map<string, CodeCalls>();
  for (const name of fs.readdirSync(OPS_DIR).filter((f) => f.endsWith('.ts'))) {
    const file = path.join(OPS_DIR, name);
    for (const command of readSource(file).registers) {
      result.set(command, codeCalls([...context, ...reachableFiles(file)], file));
    }
  }
  return result;
}

/** What the handler of `lambda/<folder>/` calls. */
export function functionCalls(folder: string): CodeCalls {
  const entry = path.join(ROOT, 'lambda', folder, 'index.ts');
  return codeCalls(reachableFiles(entry), entry);
}
