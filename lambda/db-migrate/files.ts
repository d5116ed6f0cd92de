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
 * Byte offset of the first byte that is not part of a well-formed UTF-8 sequence (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or -1 when all of `bytes` is UTF-8.
 * Decoding with Node's `utf8` would silently turn such bytes into U+FFFD and run different SQL.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let max = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b === 0xe0) [need, min] = [2, 0xa0];
    else if (b >= 0xe1 && b <= 0xef) [need, min, max] = [2, 0x80, b === 0xed ? 0x9f : 0xbf];
    else if (b === 0xf0) [need, min] = [3, 0x90];
    else if (b >= 0xf1 && b <= 0xf3) [need, min] = [3, 0x80];
    else if (b === 0xf4) [need, min, max] = [3, 0x80, 0x8f];
    else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      const [lo, hi] = k === 1 ? [min, max] : [0x80, 0xbf];
      if (c === undefined || c < lo || c > hi) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** The error for a file that is not UTF-8: names the file, the byte offset and the fix. */
export function notUtf8Error(name: string, offset: number, bytes: Uint8Array): MigrationSourceError {
  const shown = Array.from(bytes.subarray(offset, offset + 4), (b) => `0x${b.toString(16).padStart(2, '0')}`);
  return new MigrationSourceError(
    `migration file ${name} is not valid UTF-8 at byte offset ${offset} (bytes ${shown.join(' ')}). PostgreSQL ` +
      'would refuse it, and decoding it would change the SQL. Fix: save the file as UTF-8 (e.g. ' +
      `iconv -f latin1 -t utf-8 ${name}), then check the text`,
  );
}

/** Decodes a migration file, refusing (never altering) bytes that are not UTF-8. */
export function decodeMigration(name: string, bytes: Uint8Array): string {
  const offset = invalidUtf8Offset(bytes);
  if (offset >= 0) throw notUtf8Error(name, offset, bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

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
    return new MigrationSet(
      names,
      (name) => decodeMigration(name, fs.readFileSync(path.join(dir, name))),
      dir,
    );
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
