import { crc32 } from 'node:zlib';

/** golang-migrate's `advisoryLockIDSalt` (`database/util.go`). */
const ADVISORY_LOCK_SALT = 1486364155;

/**
 * golang-migrate's `GenerateAdvisoryLockId(databaseName, schema, table)`:
 * `uint32(crc32.ChecksumIEEE(schema + "\x00" + table + "\x00" + databaseName) * salt)`, the product
 * wrapping at 32 bits. Returned as a decimal string, as golang-migrate passes it to `pg_advisory_lock`.
 */
export function advisoryLockId(databaseName: string, ...additionalNames: string[]): string {
  const key = additionalNames.length > 0 ? [...additionalNames, databaseName].join('\x00') : databaseName;
  return String(Math.imul(crc32(Buffer.from(key, 'utf8')), ADVISORY_LOCK_SALT) >>> 0);
}

/**
 * The `databaseName` that goes into the lock id: THE CONVENTION THAT MAKES THE RUNNER AND THE CLI
 * EXCLUDE EACH OTHER.
 *
 * The golang-migrate CLI opens the database from a URL and takes `databaseName` from the URL path
 * *with* its leading slash (`postgres.go` `Open`: `DatabaseName: purl.Path`), so the guide's
 * `postgresql://…:5432/clever_better?sslmode=require` locks on `"/clever_better"`. Library users
 * that pass no name get `current_database()` (no slash), which yields a different id and would
 * NOT exclude the CLI. This runner therefore uses `"/" + database`, exactly what the CLI computes
 * for a URL naming that database (the CLI and the runner are proven to block each other in
 * test/db-migrate/cli-compat.integration.test.ts).
 */
export function cliDatabaseName(database: string): string {
  return `/${database}`;
}

/** The lock id the golang-migrate CLI takes for `postgresql://…/<database>` and `<schema>.<table>`. */
export function migrationLockId(database: string, schema: string, table: string): string {
  return advisoryLockId(cliDatabaseName(database), schema, table);
}
