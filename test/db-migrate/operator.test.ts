import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import {
  clientConfig,
  ConfigurationError,
  fetchCredentials,
  parseCredentials,
  settingsFromEnvironment,
} from '../../lambda/db-migrate/connection';
import { createHandler } from '../../lambda/db-migrate/handler';
import { OperatorResponse, parseOperatorRequest, RequestError } from '../../lambda/db-migrate/operations';
import { useFreshDatabase, usePostgres } from '../helpers/postgres';
import { migrationsDir, sessionFactory, tableExists, versionRows } from './fixtures';

jest.setTimeout(30_000);
const postgres = usePostgres();

const FILES = {
  '1_a.up.sql': 'CREATE TABLE a (id int);',
  '1_a.down.sql': 'DROP TABLE a;',
  '2_b.up.sql': 'CREATE TABLE b (id int);',
  '2_b.down.sql': 'DROP TABLE b;',
  '3_c.up.sql': 'CREATE TABLE c (id int);',
  '3_c.down.sql': 'DROP TABLE c;',
};

let database: string;
let admin: Client;
let dir: string;

const invoke = (event: unknown) =>
  createHandler({
    open: sessionFactory(postgres(), database, () => dir),
    environmentName: 'staging',
    logInfo: () => undefined,
  })(event, { getRemainingTimeInMillis: () => 600_000 }) as Promise<OperatorResponse>;

const stripTimes = (lines: readonly string[]) => lines.map((l) => l.replace(/ \([^)]*\)$/, ''));

describe('operator commands print what golang-migrate prints', () => {
  const fresh = useFreshDatabase(postgres, 'ops');
  beforeEach(() => {
    ({ database, admin } = fresh());
    dir = migrationsDir(FILES);
  });

  test('version with no migration applied is "error: no migration", exit 1', async () => {
    await expect(invoke({ command: 'version' })).resolves.toMatchObject({
      version: null,
      output: ['error: no migration'],
      exitCode: 1,
    });
  });

  test('up prints one line per file, then version prints N', async () => {
    const up = await invoke({ command: 'up' });
    expect(stripTimes(up.output)).toEqual(['1/u a', '2/u b', '3/u c']);
    expect(up.output[0]).toMatch(/^1\/u a \(\d+(\.\d+)?(µs|ms|s)\)$/);
    expect(up).toMatchObject({ version: '3', dirty: false, exitCode: 0 });
    await expect(invoke({ command: 'version' })).resolves.toMatchObject({ output: ['3'], exitCode: 0 });
  });

  test('up with nothing to do prints "no change"', async () => {
    await invoke({ command: 'up' });
    await expect(invoke({ command: 'up' })).resolves.toMatchObject({ output: ['no change'], steps: [] });
  });

  test('version on (-1, dirty) prints "error: no migration", exit 1, as the CLI does', async () => {
    await invoke({ command: 'up' });
    await admin.query('UPDATE schema_migrations SET version = -1, dirty = true');
    await expect(invoke({ command: 'version' })).resolves.toMatchObject({
      output: ['error: no migration'],
      exitCode: 1,
      version: '-1',
      dirty: true,
    });
  });

  test('version on a dirty database prints "N (dirty)"', async () => {
    await invoke({ command: 'up' });
    await admin.query('UPDATE schema_migrations SET dirty = true');
    await expect(invoke({ command: 'version' })).resolves.toMatchObject({
      output: ['3 (dirty)'],
      dirty: true,
    });
  });

  test('a dry-run down lists the files it would run and runs nothing', async () => {
    await invoke({ command: 'up' });
    const plan = await invoke({ command: 'down', steps: 2, dryRun: true });
    expect(plan).toMatchObject({
      dryRun: true,
      version: '3',
      steps: [
        { version: '3', target: '2', direction: 'down', file: '3_c.down.sql' },
        { version: '2', target: '1', direction: 'down', file: '2_b.down.sql' },
      ],
      output: ['would run 3/d c (3_c.down.sql)', 'would run 2/d b (2_b.down.sql)'],
    });
    expect(await versionRows(admin)).toEqual([{ version: '3', dirty: false }]);
    expect(await tableExists(admin, 'c')).toBe(true);
  });

  test('down N runs N down files', async () => {
    await invoke({ command: 'up' });
    const down = await invoke({ command: 'down', steps: 1 });
    expect(stripTimes(down.output)).toEqual(['3/d c']);
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
  });

  test('goto accepts the version as a string (timestamps exceed JSON-safe integers one day)', async () => {
    await invoke({ command: 'up' });
    const result = await invoke({ command: 'goto', version: '1' });
    expect(stripTimes(result.output)).toEqual(['3/d c', '2/d b']);
    expect(result.version).toBe('1');
  });

  test('force rewrites only the row', async () => {
    await invoke({ command: 'up', limit: 1 });
    await expect(invoke({ command: 'force', version: 3 })).resolves.toMatchObject({
      version: '3',
      output: [],
    });
    expect(await tableExists(admin, 'c')).toBe(false);
  });

  test("a dirty database makes up fail with golang-migrate's message", async () => {
    await invoke({ command: 'up' });
    await admin.query('UPDATE schema_migrations SET dirty = true');
    await expect(invoke({ command: 'up' })).rejects.toThrow(
      'Dirty database version 3. Fix and force version.',
    );
    await expect(invoke({ command: 'down', steps: 1, dryRun: true })).rejects.toThrow(
      /^Dirty database version 3/,
    );
  });
});

describe('bad requests fail naming the field, the value and the fix', () => {
  test.each([
    [
      { command: 'drop' },
      /^command = "drop" is not a migrate command\. Fix: one of version, up, down, goto, force, ensure-partitions$/,
    ],
    [
      { command: 'down' },
      /^steps = undefined is not a whole number\. Fix: pass steps as a whole number >= 1/,
    ],
    [{ command: 'down', steps: 0 }, /^steps = 0 is out of range\./],
    [{ command: 'goto', version: -1 }, /^version = -1 is out of range\. Fix: .* >= 0/],
    [{ command: 'force', version: -2 }, /^version = -2 is out of range\. Fix: .* >= -1/],
    [{ command: 'force', version: 'v3' }, /^version = "v3" is not a whole number/],
    [{ command: 'goto', version: 2 ** 60 }, /is not a whole number that survives JSON; pass it as a string/],
    [{ command: 'up', dryRun: 'yes' }, /^dryRun = "yes" is not a boolean/],
  ])('%j', (event, message) => {
    expect(() => parseOperatorRequest(event)).toThrow(RequestError);
    expect(() => parseOperatorRequest(event)).toThrow(message);
  });

  test('an event that is neither a custom-resource event nor a command', async () => {
    await expect(invoke({ hello: 'world' })).rejects.toThrow(
      /^unrecognised event .*Fix: invoke with \{ "command": "version" \}/,
    );
  });
});

describe('connection settings', () => {
  const env = {
    DB_HOST: 'db.example.internal',
    DB_PORT: '5432',
    DB_NAME: 'clever_better',
    DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:clever-better/staging/database',
  };

  test('verify the server certificate and host name, with a connect timeout', () => {
    const settings = settingsFromEnvironment(env);
    expect(settings).toMatchObject({
      port: 5432,
      connectTimeoutMs: 10_000,
      lockTimeoutMs: 60_000,
      tableLockTimeoutMs: 5_000,
    });
    expect(clientConfig(settings, { username: 'u', password: 'p' })).toMatchObject({
      host: 'db.example.internal',
      database: 'clever_better',
      ssl: { rejectUnauthorized: true },
      connectionTimeoutMillis: 10_000,
    });
  });

  test.each([
    ['DB_HOST missing', { DB_HOST: undefined }, /^DB_HOST is not set\. Fix:/],
    ['DB_PORT not a port', { DB_PORT: 'postgres' }, /^DB_PORT = "postgres" is not a TCP port/],
    [
      'a zero timeout',
      { DB_CONNECT_TIMEOUT_MS: '0' },
      /^DB_CONNECT_TIMEOUT_MS = "0" is not a positive whole number/,
    ],
  ])('fail for %s', (_name, override, message) => {
    expect(() => settingsFromEnvironment({ ...env, ...override })).toThrow(message);
  });

  test('credentials come from the secret, and a bad secret never shows its text', async () => {
    const secrets = mockClient(SecretsManagerClient);
    secrets
      .on(GetSecretValueCommand, { SecretId: env.DB_SECRET_ARN })
      .resolves({ SecretString: JSON.stringify({ username: 'admin', password: 's3cret', host: 'x' }) });
    await expect(fetchCredentials(new SecretsManagerClient({}), env.DB_SECRET_ARN)).resolves.toEqual({
      username: 'admin',
      password: 's3cret',
    });
    secrets.restore();

    expect(() => parseCredentials('{"username":"admin","pasword":"s3cret"}', 'db')).toThrow(
      new ConfigurationError(
        'secret db has no string "password". Fix: store {"username": "...", "password": "..."} as its value',
      ),
    );
    expect(() => parseCredentials('s3cret', 'db')).toThrow(/^secret db is not JSON\./);
    expect(() => parseCredentials('s3cret', 'db')).not.toThrow(/s3cret/);
  });
});
