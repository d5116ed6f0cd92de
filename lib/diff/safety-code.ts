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

/**
 * The project files a bundle directory is made of: the lambda/ sources its `*.map` files name, and
 * the files copied into it beside the code (the migration function's `migrations/*.sql`), by their
 * path in the bundle, which is their path in the project.
 */
export function bundleSources(assetDir: string): string[] {
  if (!fs.existsSync(assetDir) || !fs.statSync(assetDir).isDirectory()) return [];
  const out = new Set<string>();
  const walk = (dir: string, rel: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const relative = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path.join(dir, entry.name), relative);
      else if (entry.name.endsWith('.map')) mapSources(path.join(dir, entry.name), out);
      // Code the bundler wrote is named by the map; copied files keep their project path.
      else if (rel && !/\.[cm]?js$/.test(entry.name)) out.add(relative);
    }
  };
  walk(assetDir, '');
  return [...out].sort();
}

function mapSources(file: string, into: Set<string>): void {
  try {
    const map = JSON.parse(fs.readFileSync(file, 'utf8')) as { sources?: string[] };
    for (const s of map.sources ?? []) {
      const m = LAMBDA_SOURCE.exec(s.replace(/\\/g, '/'));
      if (m && !m[1].includes('node_modules')) into.add(m[1]);
    }
  } catch {
    // A map that does not parse names no sources; the finding then lists fewer files.
  }
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

/** Files that differ between a commit and the working tree (committed or not, new files too). */
export function changedLambdaFiles(projectRoot: string, baseSha: string): Set<string> {
  const run = (args: string[]) =>
    execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      .split('\n')
      .filter(Boolean);
  // Tracked changes since the base, and new files git does not track yet.
  return new Set([
    ...run(['diff', '--name-only', baseSha]),
    ...run(['ls-files', '--others', '--exclude-standard']),
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
    const code = sources.filter((s) => s.startsWith('lambda/'));
    if (code.length === 0) continue; // not built from lambda/: not the project's safety code
    const entry = code.find((s) => /\/index\.[cm]?[jt]s$/.test(s)) ?? code[0];
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
