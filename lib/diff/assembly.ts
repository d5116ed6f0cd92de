import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnTemplate } from './template';

/** One stack of a cloud assembly (a `cdk.out` directory). */
export interface AssemblyStack {
  /** The CloudFormation stack name (`StagingStack`). */
  readonly stackName: string;
  /** `aws://<account>/<region>` as synthesized. */
  readonly environment?: string;
  readonly template: CfnTemplate;
}

interface Manifest {
  artifacts?: Record<
    string,
    {
      type: string;
      environment?: string;
      displayName?: string;
      properties?: { templateFile?: string; stackName?: string };
    }
  >;
}

/** The stacks of a synthesized cloud assembly, by stack name. */
export function readAssembly(dir: string): Map<string, AssemblyStack> {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    throw new Error(
      `${dir} is not a cloud assembly (no manifest.json). Fix: point at the output of \`cdk synth\`.`,
    );
  }
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
  const stacks = new Map<string, AssemblyStack>();
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const stackName = artifact.properties.stackName ?? artifact.displayName ?? id;
    const template = JSON.parse(fs.readFileSync(path.join(dir, artifact.properties.templateFile), 'utf8'));
    stacks.set(stackName, { stackName, environment: artifact.environment, template });
  }
  return stacks;
}

/**
 * Runs `cdk synth` in `cwd` into `outDir`. Output is kept and shown only on failure, so the diff is
 * not buried under synth's warnings. No AWS call: every stack has an explicit account and region.
 *
 * Resolves to a warning when synth exited non-zero but wrote the assembly (a cdk-nag or validation
 * finding): the templates are still what that commit would deploy, and a pull request that fixes a
 * finding of its base must still get its diff. The warning's first line is its summary.
 */
export function synthesize(cwd: string, outDir: string, label: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', outDir], {
      cwd,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolve(undefined);
      const errors = output.split('\n').filter((l) => /^ERROR /.test(l)).length;
      if (errors > 0 && fs.existsSync(path.join(outDir, 'manifest.json'))) {
        return resolve(
          `cdk synth of ${label} reported ${errors} error(s) (cdk-nag or validation findings); its templates are compared anyway.\n` +
            output.slice(-4000),
        );
      }
      reject(new Error(`cdk synth of ${label} failed (exit ${code}):\n${output.slice(-4000)}`));
    });
  });
}

/** The commit a git ref names, or a clear error. */
export function resolveRef(repoRoot: string, ref: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
  } catch {
    throw new Error(
      `--base ${ref}: not a commit in ${repoRoot}. Fix: name a branch, tag or SHA that exists locally ` +
        '(in CI, check out with fetch-depth: 0).',
    );
  }
}

/**
 * Writes the files of `sha` into `dest` (git archive: no work tree, no change to the repository) and
 * links the current node_modules into it, so the base is built with the installed packages and no
 * `npm ci`.
 */
export function exportCommit(repoRoot: string, sha: string, dest: string): void {
  fs.mkdirSync(dest, { recursive: true });
  const archive = execFileSync('git', ['archive', '--format=tar', sha], {
    cwd: repoRoot,
    maxBuffer: 512 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', dest], { input: archive });
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dest, 'node_modules'), 'dir');
}

const ASSET = /^asset\.([0-9a-f]{64})(?:\..+)?$/;

/** Hash of an asset's content, leaving out source maps (they embed the path the bundle was built in). */
function assetFingerprint(file: string): string {
  const hash = createHash('sha256');
  const walk = (p: string, rel: string) => {
    const stat = fs.statSync(p);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name), `${rel}/${name}`);
    } else if (!p.endsWith('.map')) {
      hash.update(`${rel}\0`).update(fs.readFileSync(p)).update('\0');
    }
  };
  walk(file, '');
  return hash.digest('hex');
}

function assetFingerprints(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of fs.readdirSync(dir)) {
    const match = ASSET.exec(name);
    if (match) out.set(match[1], assetFingerprint(path.join(dir, name)));
  }
  return out;
}

/**
 * Base asset hashes whose content equals a head asset but for source maps, mapped to the head's
 * hash. The same Lambda code built in two directories gets two asset hashes (the source map holds
 * relative paths to the sources), which would show every function as changed in every diff.
 */
export function equivalentAssets(baseDir: string, headDir: string): Map<string, string> {
  const head = new Map<string, string>();
  for (const [hash, fingerprint] of assetFingerprints(headDir)) head.set(fingerprint, hash);
  const out = new Map<string, string>();
  for (const [hash, fingerprint] of assetFingerprints(baseDir)) {
    const same = head.get(fingerprint);
    if (same && same !== hash) out.set(hash, same);
  }
  return out;
}

/** `template` with each asset hash in `mapping` replaced by its equivalent. */
export function withAssetHashes(template: CfnTemplate, mapping: ReadonlyMap<string, string>): CfnTemplate {
  if (mapping.size === 0) return template;
  let text = JSON.stringify(template);
  for (const [from, to] of mapping) text = text.split(from).join(to);
  return JSON.parse(text) as CfnTemplate;
}

/** Reads the template CloudFormation holds for a deployed stack (needs `cloudformation:GetTemplate`). */
export async function deployedTemplate(
  stackName: string,
  client: CloudFormationClient,
): Promise<CfnTemplate> {
  try {
    const out = await client.send(
      new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }),
    );
    return JSON.parse(out.TemplateBody ?? '{}') as CfnTemplate;
  } catch (err) {
    if (/does not exist/.test((err as Error).message)) {
      throw new Error(
        `Stack ${stackName} does not exist in the account of these credentials. Fix: use the credentials of ` +
          "the stack's account (environments/), or --base for a stack that was never deployed.",
      );
    }
    throw err;
  }
}

/** `eu-west-1` from `aws://111111111111/eu-west-1`. */
export function regionOf(environment: string | undefined): string | undefined {
  const match = /^aws:\/\/[^/]+\/([a-z0-9-]+)$/.exec(environment ?? '');
  return match?.[1];
}
