import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnTemplate, resourcesOf } from './template';

// The safety functions' code: the emergency stop, rollback and migration functions are bundled from
// lambda/<function>/. When a bundle changes, the template shows only a new asset hash; a reviewer must
// read the source files that changed. Which files a bundle is made of comes from its source map
// (esbuild records every input), which files changed from git.

/** The lambda/ source files one function's bundle is built from, and those of them that changed. */
export interface SafetyCodeChange {
  /** Logical id of the function in the head template. */
  readonly logicalId: string;
  /** `lambda/<folder>` the bundle's entry lives in (e.g. `lambda/emergency-stop`). */
  readonly folder: string;
  /** Files of the bundle (and of its folder) under lambda/ that differ between base and head, sorted. */
  readonly files: readonly string[];
  /** Whether git could tell (false with `--base-dir` or `--deployed`: the files are unknown). */
  readonly known: boolean;
}

/** Where `lambda/…` starts in a source-map path (`../../lambda/emergency-stop/index.ts`). */
const LAMBDA_SOURCE = /(?:^|\/)(lambda\/[^/]+\/.+)$/;

/** The lambda/ sources of a bundle directory, from its `*.map` files. */
export function bundleSources(assetDir: string): string[] {
  if (!fs.existsSync(assetDir) || !fs.statSync(assetDir).isDirectory()) return [];
  const out = new Set<string>();
  for (const name of fs.readdirSync(assetDir)) {
    if (!name.endsWith('.map')) continue;
    try {
      const map = JSON.parse(fs.readFileSync(path.join(assetDir, name), 'utf8')) as { sources?: string[] };
      for (const s of map.sources ?? []) {
        const m = LAMBDA_SOURCE.exec(s.replace(/\\/g, '/'));
        if (m && !m[1].includes('node_modules')) out.add(m[1]);
      }
    } catch {
      // A map that does not parse names no sources; the finding then says the files are unknown.
    }
  }
  return [...out].sort();
}

/** Functions of a template bundled from lambda/, with their sources (from the assembly's assets). */
export function projectFunctions(assemblyDir: string, template: CfnTemplate): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [id, r] of Object.entries(resourcesOf(template))) {
    const asset = (r.Metadata as Record<string, unknown> | undefined)?.['aws:asset:path'];
    if (r.Type !== 'AWS::Lambda::Function' || typeof asset !== 'string') continue;
    const sources = bundleSources(path.join(assemblyDir, asset));
    if (sources.length) out.set(id, sources);
  }
  return out;
}

/** Files under lambda/ that differ between a commit and the working tree (committed or not). */
export function changedLambdaFiles(projectRoot: string, baseSha: string): Set<string> {
  const run = (args: string[]) =>
    execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      .split('\n')
      .filter(Boolean);
  // Tracked changes since the base, and new files git does not track yet.
  return new Set([
    ...run(['diff', '--name-only', baseSha, '--', 'lambda/']),
    ...run(['ls-files', '--others', '--exclude-standard', '--', 'lambda/']),
  ]);
}

/**
 * The safety code changes of one stack: for each project function whose bundle differs between the
 * sides (`Code` changed), the files of its bundle that git says changed. `changed` undefined: git is
 * not at hand (`--base-dir`, `--deployed`); the finding then says so.
 */
export function safetyCodeChanges(
  oldTemplate: CfnTemplate | undefined,
  newTemplate: CfnTemplate | undefined,
  functions: ReadonlyMap<string, readonly string[]>,
  changed: ReadonlySet<string> | undefined,
): SafetyCodeChange[] {
  const [oldRes, newRes] = [resourcesOf(oldTemplate), resourcesOf(newTemplate)];
  const out: SafetyCodeChange[] = [];
  for (const [id, sources] of functions) {
    const [a, b] = [oldRes[id], newRes[id]];
    if (!a || !b || JSON.stringify(a.Properties?.Code) === JSON.stringify(b.Properties?.Code)) continue;
    const entry = sources.find((s) => /\/index\.[cm]?[jt]s$/.test(s)) ?? sources[0];
    const folder = entry.split('/').slice(0, 2).join('/');
    const files = changed
      ? [
          ...new Set([
            ...sources.filter((s) => changed.has(s)),
            ...[...changed].filter((f) => f.startsWith(`${folder}/`)),
          ]),
        ]
      : [];
    out.push({ logicalId: id, folder, files: files.sort(), known: changed !== undefined });
  }
  return out;
}
