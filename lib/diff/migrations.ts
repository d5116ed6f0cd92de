import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeSql, serviceTablesOf, SqlFinding } from './sql';
import { CfnTemplate, resourcesOf } from './template';

/** One migration file bundled into a stack (golang-migrate naming: `<version>_<title>.up.sql`). */
export interface MigrationFile {
  /** File name, e.g. `20240201090000_ml_predictions.up.sql`. */
  readonly name: string;
  /** The numeric version as a string (compared as a bigint). */
  readonly version: string;
  /** sha256 of the bytes: an edited file that was already applied is never re-run. */
  readonly sha256: string;
  /** The file's SQL, when it is at hand: new files are parsed and judged statement by statement. */
  readonly sql?: string;
}

const MIGRATION_FILE = /^(\d+)_.*\.(up|down)\.sql$/;

/**
 * The migration files a stack deploys: the `migrations/` directory inside the asset of any Lambda
 * function of the template (the migration function bundles it). Empty when the assembly holds none.
 */
export function migrationFilesOf(assemblyDir: string, template: CfnTemplate): MigrationFile[] {
  const files = new Map<string, MigrationFile>();
  for (const resource of Object.values(resourcesOf(template))) {
    const assetPath = (resource.Metadata as Record<string, unknown> | undefined)?.['aws:asset:path'];
    if (resource.Type !== 'AWS::Lambda::Function' || typeof assetPath !== 'string') continue;
    const dir = path.join(assemblyDir, assetPath, 'migrations');
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir).sort()) {
      const match = MIGRATION_FILE.exec(name);
      if (!match) continue;
      const bytes = fs.readFileSync(path.join(dir, name));
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      files.set(name, { name, version: match[1], sha256, sql: bytes.toString('utf8') });
    }
  }
  return [...files.values()];
}

/**
 * The highest migration version a template records: the `LatestVersion` property of its migrations
 * custom resource. Used when the base's files are not at hand (`--deployed`).
 */
export function latestVersionOf(template: CfnTemplate | undefined): string | undefined {
  const versions = Object.values(resourcesOf(template))
    .filter((r) => r.Type.startsWith('Custom::') && /^\d+$/.test(String(r.Properties?.LatestVersion ?? '')))
    .map((r) => String(r.Properties!.LatestVersion));
  return maxVersion(versions);
}

export function maxVersion(versions: readonly string[]): string | undefined {
  return versions.reduce<string | undefined>(
    (max, v) => (max === undefined || BigInt(v) > BigInt(max) ? v : max),
    undefined,
  );
}

/** The migrations of a stack on both sides; `base` undefined when the base's files are unknown. */
export interface MigrationSets {
  readonly base?: readonly MigrationFile[];
  readonly head: readonly MigrationFile[];
}

/** What a change does to the migration set. */
export interface MigrationChanges {
  /** Highest version on the base (from its files, else from its template). */
  readonly baseLatest?: string;
  /** Up files whose version the base does not have, by version. */
  readonly added: readonly MigrationFile[];
  /** Of `added`, those below `baseLatest`: golang-migrate never applies them where the base ran. */
  readonly outOfOrder: readonly MigrationFile[];
  /** Files the base has with other bytes: an applied migration is not re-run. */
  readonly edited: readonly MigrationFile[];
  /** Risky statements of the added up files (lib/diff/sql.ts), in file order. */
  readonly sql: readonly SqlFinding[];
}

export function migrationChanges(
  sets: MigrationSets | undefined,
  baseTemplate: CfnTemplate | undefined,
): MigrationChanges | undefined {
  if (!sets || sets.head.length === 0) return undefined;
  const baseVersions = new Set((sets.base ?? []).map((f) => f.version));
  const baseLatest = sets.base ? maxVersion([...baseVersions]) : latestVersionOf(baseTemplate);
  const ups = sets.head.filter((f) => f.name.endsWith('.up.sql'));
  const added = sets.base
    ? ups.filter((f) => !baseVersions.has(f.version))
    : ups.filter((f) => baseLatest === undefined || BigInt(f.version) > BigInt(baseLatest));
  const outOfOrder =
    sets.base && baseLatest !== undefined ? added.filter((f) => BigInt(f.version) < BigInt(baseLatest)) : [];
  const baseByName = new Map((sets.base ?? []).map((f) => [f.name, f]));
  const edited = sets.head.filter((f) => {
    const old = baseByName.get(f.name);
    return old !== undefined && old.sha256 !== f.sha256;
  });
  // Which tables the services use: the grants as they stand before the new files run (the files
  // the head keeps from the base, or all head files older than the first added one when the base's
  // files are unknown). Not after them: a REVOKE in the same PR would hide a rename it comes with.
  // Required when needed: lib/secrets.ts loads aws-cdk-lib (see protections.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SERVICE_DATABASE_ROLES } = require('../secrets') as typeof import('../secrets');
  const addedSet = new Set(added);
  const before = sets.base ?? sets.head.filter((f) => !addedSet.has(f));
  const tables = serviceTablesOf(before, Object.values(SERVICE_DATABASE_ROLES));
  const sql = added.flatMap((f) => (f.sql === undefined ? [] : analyzeSql(f.name, f.sql, tables)));
  return { baseLatest, added, outOfOrder, edited, sql };
}
