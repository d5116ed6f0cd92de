import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Migration files in golang-migrate's on-disk format, parsed by golang-migrate v4's rules
 * (`source/parse.go`, `source/migration.go`, `source/iofs/iofs.go`):
 * - a name matching `^([0-9]+)_(.*)\.(down|up)\.(.*)$` is a migration; the title may be empty and the
 *   extension is not checked; any other name is ignored, as is a subdirectory;
 * - the version is an unsigned 64-bit decimal (leading zeros allowed), versions sort numerically;
 * - the same version and direction twice is the error `duplicate migration file: <name>`.
 */

export type Direction = 'up' | 'down';

/** One `.up` or `.down` file. */
export interface MigrationFile {
  readonly version: bigint;
  /** The title between `<version>_` and `.<direction>.`; golang-migrate's "identifier". */
  readonly identifier: string;
  readonly direction: Direction;
  /** File name, e.g. `20240115120000_price_history.up.sql`. */
  readonly name: string;
}

/** golang-migrate's `source.Regex`. Like Go's RE2 without flags, `.` does not match a newline. */
export const MIGRATION_FILE_PATTERN = /^([0-9]+)_(.*)\.(down|up)\.(.*)$/;

const UINT64_MAX = (1n << 64n) - 1n;
/** `schema_migrations.version` is a `bigint`: golang-migrate would write larger versions as negative numbers. */
export const MAX_VERSION = (1n << 63n) - 1n;

/** Thrown for a migration directory golang-migrate would refuse, or one this runner cannot store. */
export class MigrationSourceError extends Error {}

/**
 * Parses one file name. Returns undefined for a name golang-migrate ignores: one that does not
 * match, or whose version does not fit in 64 bits (its `strconv.ParseUint` fails and `iofs` skips it).
 */
export function parseMigrationFileName(name: string): MigrationFile | undefined {
  const match = MIGRATION_FILE_PATTERN.exec(name);
  if (!match) return undefined;
  const version = BigInt(match[1]);
  if (version > UINT64_MAX) return undefined;
  if (version > MAX_VERSION) {
    throw new MigrationSourceError(
      `migration file ${name}: version ${version} is above ${MAX_VERSION}, the largest value schema_migrations.version ` +
        '(bigint) holds. Fix: rename the file with a smaller version, e.g. a UTC timestamp like 20240115120000',
    );
  }
  return { version, identifier: match[2], direction: match[3] as Direction, name };
}

/** Go sorts directory entries by their bytes; so does this, so duplicates are reported alike. */
function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The migrations of one source directory, indexed like golang-migrate's `source.Migrations`. */
export class MigrationSet {
  /** Versions that have an up or a down file, ascending. */
  readonly versions: readonly bigint[];
  /** Names that are not migrations (golang-migrate ignores them silently; the runner logs them). */
  readonly ignored: readonly string[];
  private readonly files = new Map<bigint, { up?: MigrationFile; down?: MigrationFile }>();
  private readonly position = new Map<bigint, number>();

  /**
   * @param names file names in the directory (subdirectories excluded)
   * @param readBody reads one file's text
   * @param location shown in messages (the directory)
   */
  constructor(
    names: readonly string[],
    private readonly readBody: (name: string) => string,
    readonly location = '.',
  ) {
    const ignored: string[] = [];
    for (const name of [...names].sort(byBytes)) {
      const file = parseMigrationFileName(name);
      if (!file) {
        ignored.push(name);
        continue;
      }
      const entry = this.files.get(file.version) ?? {};
      if (entry[file.direction]) throw new MigrationSourceError(`duplicate migration file: ${name}`);
      entry[file.direction] = file;
      this.files.set(file.version, entry);
    }
    this.versions = [...this.files.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.versions.forEach((v, i) => this.position.set(v, i));
    this.ignored = ignored;
  }

  /** Reads a directory the way golang-migrate's `file://` source does. */
  static fromDirectory(dir: string): MigrationSet {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new MigrationSourceError(
        `cannot read the migrations directory ${dir}: ${(err as Error).message}`,
      );
    }
    const names = entries.filter((e) => !e.isDirectory()).map((e) => e.name);
    return new MigrationSet(names, (name) => fs.readFileSync(path.join(dir, name), 'utf8'), dir);
  }

  get first(): bigint | undefined {
    return this.versions[0];
  }

  get last(): bigint | undefined {
    return this.versions[this.versions.length - 1];
  }

  /** Whether an up or a down file exists for `version` (golang-migrate's `versionExists`). */
  has(version: bigint): boolean {
    return this.files.has(version);
  }

  next(version: bigint): bigint | undefined {
    const i = this.position.get(version);
    return i === undefined ? undefined : this.versions[i + 1];
  }

  prev(version: bigint): bigint | undefined {
    const i = this.position.get(version);
    return i === undefined || i === 0 ? undefined : this.versions[i - 1];
  }

  file(version: bigint, direction: Direction): MigrationFile | undefined {
    return this.files.get(version)?.[direction];
  }

  body(file: MigrationFile): string {
    return this.readBody(file.name);
  }
}
