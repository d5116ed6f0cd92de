import * as path from 'node:path';
import { Client } from 'pg';
import { ConfigurationError, Credentials } from '../../lambda/db-migrate/connection';
import {
  scramVerifier,
  serviceLoginsFromEnvironment,
  setServiceLogins,
  withServiceLogins,
} from '../../lambda/db-migrate/service-logins';
import { parseOperatorRequest, runOperatorRequest } from '../../lambda/db-migrate/operations';
import { RoleSessionsError } from '../../lambda/db-migrate/runner';
import { DatabaseTemplate, useFreshDatabase, usePostgres } from '../helpers/postgres';
import { openMigrator } from './fixtures';

const MIGRATIONS = path.join(__dirname, '..', '..', 'migrations');
const BOT = 'clever_better_bot';
const ML = 'clever_better_ml';

/**
 * The documented grant matrix (docs/database-users.md): every table of the schema, what each service
 * may do to it. A table missing here fails "every table has a decision"; a grant the migrations give
 * that is not here (or the reverse) fails "grants are exactly the matrix".
 */
const MATRIX: Record<string, { bot: string[]; ml: string[] }> = {
  markets: { bot: ['INSERT', 'SELECT', 'UPDATE'], ml: ['SELECT'] },
  runners: { bot: ['INSERT', 'SELECT', 'UPDATE'], ml: ['SELECT'] },
  price_history: { bot: ['INSERT', 'SELECT'], ml: ['SELECT'] },
  strategies: { bot: ['INSERT', 'SELECT'], ml: [] },
  strategy_runs: { bot: ['INSERT', 'SELECT', 'UPDATE(ended_at)'], ml: [] },
  strategy_performance: { bot: ['INSERT', 'SELECT'], ml: [] },
  bets: {
    bot: [
      'INSERT',
      'SELECT',
      ...[
        'average_price_matched',
        'betfair_bet_id',
        'profit',
        'settled_at',
        'size_cancelled',
        'size_matched',
        'status',
        'updated_at',
      ].map((c) => `UPDATE(${c})`),
    ],
    ml: [],
  },
  bet_events: { bot: ['INSERT', 'SELECT'], ml: [] },
  ml_predictions: { bot: ['SELECT'], ml: ['INSERT', 'SELECT'] },
  cb_migration_attempts: { bot: [], ml: [] },
  cb_schema_settings: { bot: [], ml: [] },
  cb_timeseries_tables: { bot: [], ml: [] },
  schema_migrations: { bot: [], ml: [] },
};

jest.setTimeout(60_000);
const postgres = usePostgres();
let database: string;
let admin: Client;
/** Gives each test of the calling describe its own database; `database` and `admin` point at it. */
function databasePerTest(prefix: string, template?: DatabaseTemplate): void {
  const fresh = useFreshDatabase(postgres, prefix, { template });
  beforeEach(() => ({ database, admin } = fresh()));
}
/**
 * Every migration applied, as the tests of the grant matrix and of down start: migrated once per
 * file, copied for each test. Roles are server-wide, so each test still sets the logins itself.
 */
const MIGRATED: DatabaseTemplate = {
  name: 'roles_migrated',
  prepare: (db) => migrateOn(db, { command: 'up' }),
};

const PASSWORDS: Record<string, string> = { [BOT]: 'bot-Secret-1', [ML]: 'ml-Secret-2' };
const secrets = async (secretId: string): Promise<Credentials> => ({
  username: secretId.replace(/^secret:/, ''),
  password: PASSWORDS[secretId.replace(/^secret:/, '')],
});
const LOGINS = [
  { role: BOT, secretId: `secret:${BOT}` },
  { role: ML, secretId: `secret:${ML}` },
];

async function migrate(command: { command: 'up' } | { command: 'down' }) {
  return migrateOn(database, command);
}
async function migrateOn(db: string, command: { command: 'up' } | { command: 'down' }) {
  const session = await openMigrator(postgres(), db, MIGRATIONS);
  try {
    return await session.migrator.run(command.command === 'up' ? command : { command: 'down', steps: 1 });
  } finally {
    await session.close();
  }
}

const opened: Client[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.end().catch(() => undefined)));
});
async function loginAs(user: string, password = PASSWORDS[user]): Promise<Client> {
  const client = new Client({ ...postgres().config(database), user, password });
  opened.push(client);
  await client.connect();
  return client;
}

async function seedMarket(): Promise<void> {
  await admin.query(`
    INSERT INTO markets (market_id, event_id, event_name, market_type, market_name, start_time)
      VALUES ('1.1', 'e1', 'Ascot', 'WIN', '2m Hcap', now());
    INSERT INTO runners (market_id, selection_id, runner_name) VALUES ('1.1', 7, 'Fast Horse');`);
}

const PLACE_BET = `INSERT INTO bets (customer_ref, market_id, selection_id, side, live, requested_price, requested_size)
  VALUES ('ref-1', '1.1', 7, 'BACK', false, 3.5, 2) RETURNING bet_id`;

describe('per-service database roles after migration (embedded PostgreSQL)', () => {
  databasePerTest('roles_up', MIGRATED);
  beforeEach(async () => {
    await setServiceLogins(admin, LOGINS, secrets);
    await seedMarket();
  });

  test('every table of the schema has a decision in the grant matrix', async () => {
    const { rows } = await admin.query<{ name: string }>(`
      SELECT c.relname AS name FROM pg_class c
       WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       ORDER BY 1`);
    expect(rows.map((r) => r.name)).toEqual(Object.keys(MATRIX).sort());
  });

  test('grants are exactly the documented matrix, table and column privileges alike', async () => {
    const { rows } = await admin.query<{ grantee: string; name: string; privilege: string }>(
      `
      SELECT grantee, table_name AS name, privilege_type AS privilege
        FROM information_schema.role_table_grants WHERE grantee IN ($1, $2) AND table_schema = 'public'
      UNION ALL
      SELECT grantee, table_name, privilege_type || '(' || column_name || ')'
        FROM information_schema.column_privileges c
       WHERE grantee IN ($1, $2) AND table_schema = 'public'
         AND NOT EXISTS (SELECT 1 FROM information_schema.role_table_grants t
                          WHERE t.grantee = c.grantee AND t.table_name = c.table_name
                            AND t.privilege_type = c.privilege_type AND t.table_schema = 'public')`,
      [BOT, ML],
    );
    const actual: Record<string, { bot: string[]; ml: string[] }> = {};
    for (const name of Object.keys(MATRIX)) actual[name] = { bot: [], ml: [] };
    for (const row of rows) {
      // Only the parent tables: partitions are reached through them.
      if (!(row.name in actual)) continue;
      actual[row.name][row.grantee === BOT ? 'bot' : 'ml'].push(row.privilege);
    }
    for (const entry of Object.values(actual)) {
      entry.bot.sort();
      entry.ml.sort();
    }
    expect(actual).toEqual(MATRIX);
  });

  test('the bot can place a bet, record its events and update what Betfair reports', async () => {
    const bot = await loginAs(BOT);
    const { rows } = await bot.query(PLACE_BET);
    await bot.query(`INSERT INTO bet_events (bet_id, status) VALUES ($1, 'EXECUTABLE')`, [rows[0].bet_id]);
    await bot.query(`UPDATE bets SET status = 'EXECUTABLE', betfair_bet_id = '99' WHERE bet_id = $1`, [
      rows[0].bet_id,
    ]);
    await bot.query(`INSERT INTO price_history (market_id, selection_id, observed_at, back_price)
      VALUES ('1.1', 7, now(), 3.5)`);
    await bot.query(`INSERT INTO strategies (name, version) VALUES ('value', '1')`);
    expect((await bot.query('SELECT count(*)::int AS n FROM ml_predictions')).rows).toEqual([{ n: 0 }]);
  });

  test.each([
    ['drop a table', 'DROP TABLE bets'],
    ['create a table', 'CREATE TABLE sneaky (id int)'],
    ['delete a bet', 'DELETE FROM bets'],
    ['change a placed order', 'UPDATE bets SET requested_size = 1000'],
    [
      'write predictions',
      `INSERT INTO ml_predictions (market_id, selection_id, predicted_at, model_name,
       model_version, win_probability) VALUES ('1.1', 7, now(), 'm', '1', 0.5)`,
    ],
    ['touch the migration version', 'UPDATE schema_migrations SET dirty = true'],
    ['create partitions', 'SELECT cb_ensure_all_partitions()'],
  ])('the bot cannot %s', async (_what, sql) => {
    await admin.query(PLACE_BET);
    const bot = await loginAs(BOT);
    await expect(bot.query(sql)).rejects.toThrow(/permission denied|must be owner/);
  });

  test('ml-service can read market data and write predictions', async () => {
    const ml = await loginAs(ML);
    await ml.query(`INSERT INTO ml_predictions (market_id, selection_id, predicted_at, model_name, model_version,
      win_probability) VALUES ('1.1', 7, now(), 'm', '1', 0.25)`);
    const { rows } = await ml.query('SELECT win_probability FROM ml_predictions');
    expect(rows).toEqual([{ win_probability: 0.25 }]);
    await ml.query('SELECT * FROM price_history, runners, markets');
  });

  test.each([
    ['read bets', 'SELECT * FROM bets'],
    ['place a bet', PLACE_BET],
    ['read bet events', 'SELECT * FROM bet_events'],
    ['read strategies', 'SELECT * FROM strategy_runs'],
    ['write market data', `UPDATE markets SET status = 'CLOSED'`],
    ['drop its own table', 'DROP TABLE ml_predictions'],
    ['create a table', 'CREATE TABLE sneaky (id int)'],
  ])('ml-service cannot %s', async (_what, sql) => {
    const ml = await loginAs(ML);
    await expect(ml.query(sql)).rejects.toThrow(/permission denied|must be owner/);
  });

  test('a role logs in only with the password of its own secret', async () => {
    await expect(loginAs(BOT, PASSWORDS[ML])).rejects.toThrow(/password authentication failed/);
    PASSWORDS[BOT] = 'bot-Rotated-3';
    try {
      await setServiceLogins(admin, LOGINS, secrets);
      await expect(loginAs(BOT, 'bot-Secret-1')).rejects.toThrow(/password authentication failed/);
      await loginAs(BOT);
    } finally {
      PASSWORDS[BOT] = 'bot-Secret-1';
    }
  });

  test('the down migration takes every grant back', async () => {
    await migrate({ command: 'down' });
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM information_schema.role_table_grants WHERE grantee IN ($1, $2)`,
      [BOT, ML],
    );
    expect(rows).toEqual([{ n: 0 }]);
  });
});

describe('setting the service logins', () => {
  databasePerTest('roles');
  test('the roles cannot log in before their passwords are set', async () => {
    await migrate({ command: 'up' });
    // A role created by this database's migration, never given LOGIN (roles are server-wide, so
    // earlier tests may have set one: reset it as a fresh server would have it).
    await admin.query(`ALTER ROLE ${BOT} NOLOGIN PASSWORD NULL`);
    await expect(loginAs(BOT)).rejects.toThrow(/not permitted to log in|password authentication failed/);
  });

  test('fails, naming the secret and the fix, when a secret holds another user name', async () => {
    await migrate({ command: 'up' });
    const wrong = async () => ({ username: 'clever_better_admin', password: 'x' });
    await expect(setServiceLogins(admin, [LOGINS[0]], wrong)).rejects.toThrow(
      new ConfigurationError(
        'secret secret:clever_better_bot has username "clever_better_admin", but it is the login of role "clever_better_bot". Fix: store {"username": "clever_better_bot", "password": "..."} in it',
      ),
    );
  });

  test('fails, naming the migration, when the role does not exist', async () => {
    await expect(
      setServiceLogins(admin, [{ role: 'clever_better_nobody', secretId: 'secret:x' }], async () => ({
        username: 'clever_better_nobody',
        password: 'x',
      })),
    ).rejects.toThrow(/role "clever_better_nobody" does not exist. Fix: apply migration 20261201040000/);
  });
});

describe('down past the service roles', () => {
  async function down(endServiceSessions?: boolean) {
    const session = await openMigrator(postgres(), database, MIGRATIONS);
    try {
      return await runOperatorRequest(
        parseOperatorRequest({
          command: 'down',
          steps: 1,
          ...(endServiceSessions === undefined ? {} : { endServiceSessions }),
        }),
        session.migrator,
        [],
      );
    } finally {
      await session.close();
    }
  }
  const roleExists = async (role: string) =>
    (await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rows.length === 1;

  databasePerTest('roles_down', MIGRATED);
  beforeEach(async () => {
    await setServiceLogins(admin, LOGINS, secrets);
    await seedMarket();
  });

  test('refuses while the services are connected, naming the roles and the flag, before anything runs', async () => {
    const bot = await loginAs(BOT);
    await bot.query('BEGIN');
    await bot.query(PLACE_BET);
    const error = await down().catch((e) => e);
    expect(error).toBeInstanceOf(RoleSessionsError);
    expect(error.message).toMatch(
      /^refused: 20261201040000_service_roles\.down\.sql drops roles that are connected now: clever_better_bot \(1 session\(s\), pids \d+\)\./,
    );
    expect(error.message).toContain('--end-service-sessions');
    expect(await roleExists(BOT)).toBe(true);
    expect((await admin.query('SELECT version::text, dirty FROM schema_migrations')).rows).toEqual([
      { version: '20261201040000', dirty: false },
    ]);
    // The service is untouched: its transaction still commits.
    await bot.query('COMMIT');
    expect((await admin.query('SELECT count(*)::int AS n FROM bets')).rows).toEqual([{ n: 1 }]);
    // And the refusal ran nothing: the roles keep their grants here.
    expect(await roleExists(BOT)).toBe(true);
  });

  test('with endServiceSessions: the sessions end first (their open transaction rolls back), then the roles go', async () => {
    const bot = await loginAs(BOT);
    bot.on('error', () => undefined);
    await bot.query('BEGIN');
    await bot.query(PLACE_BET);
    const result = await down(true);
    expect(result.exitCode).toBe(0);
    expect(result.version).toBe('20261201030000');
    // (The role itself stays while other test databases of this server still grant it rights.)
    await expect(bot.query('COMMIT')).rejects.toThrow();
    expect((await admin.query('SELECT count(*)::int AS n FROM bets')).rows).toEqual([{ n: 0 }]);
  });

  test('endServiceSessions is refused on commands that drop nothing', () => {
    expect(() => parseOperatorRequest({ command: 'up', endServiceSessions: true })).toThrow(
      /^endServiceSessions is given with command "up"\. Fix: it only applies to down and goto$/,
    );
    expect(() => parseOperatorRequest({ command: 'down', steps: 1, endServiceSessions: 'yes' })).toThrow(
      /^endServiceSessions = "yes" is not a boolean/,
    );
  });
});

describe('service logins: configuration and wiring (no database)', () => {
  test('reads role=secret pairs from DB_SERVICE_LOGINS', () => {
    expect(
      serviceLoginsFromEnvironment({ DB_SERVICE_LOGINS: 'clever_better_bot=arn:a,clever_better_ml=arn:b' }),
    ).toEqual([
      { role: 'clever_better_bot', secretId: 'arn:a' },
      { role: 'clever_better_ml', secretId: 'arn:b' },
    ]);
    expect(serviceLoginsFromEnvironment({})).toEqual([]);
  });

  test.each(['Bot=arn', 'clever_better_bot', 'a=b=c'])('fails on a malformed entry %s', (entry) => {
    expect(() => serviceLoginsFromEnvironment({ DB_SERVICE_LOGINS: entry })).toThrow(
      `DB_SERVICE_LOGINS entry "${entry}" is not role=secretArn`,
    );
  });

  test('a SCRAM verifier has PostgreSQL form and never contains the password', () => {
    const verifier = scramVerifier('hunter2-Password');
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(verifier).not.toContain('hunter2');
  });

  function wired(answer: unknown = { PhysicalResourceId: 'p' }) {
    const calls: string[] = [];
    const queries: string[] = [];
    const handler = withServiceLogins(
      async (event: unknown) => {
        calls.push(`migrate ${JSON.stringify(event).slice(0, 30)}`);
        return answer;
      },
      {
        logins: () => [LOGINS[0]],
        connect: async () => ({
          query: (async (sql: string) => {
            queries.push(sql.split(' ').slice(0, 2).join(' '));
            return { rowCount: 1, rows: [{}] };
          }) as never,
          escapeIdentifier: (s: string) => `"${s}"`,
          escapeLiteral: (s: string) => `'${s}'`,
          end: async () => {
            calls.push('end');
          },
        }),
        fetchCredentials: secrets,
        log: () => undefined,
      },
    );
    return { handler, calls, queries };
  }
  const event = (RequestType: string) => ({ RequestType, ResourceProperties: {}, PhysicalResourceId: 'p' });

  test.each(['Create', 'Update'])(
    'a custom-resource %s is left to the post-migration step (the logins are set once, test/db-migrate/post-migration.test.ts)',
    async (type) => {
      const { handler, calls, queries } = wired();
      await handler(event(type), {});
      expect(calls).toEqual([expect.stringMatching(/^migrate /)]);
      expect(queries).toEqual([]);
    },
  );

  test('a Delete and operator commands other than set-service-logins leave the logins alone', async () => {
    const { handler, queries } = wired();
    await handler(event('Delete'), {});
    await handler({ command: 'version' }, {});
    expect(queries).toEqual([]);
  });

  test.each([
    ['up', { command: 'up', dryRun: false, output: ['1/u x'], exitCode: 0 }, true],
    ['goto', { command: 'goto', dryRun: false, output: ['1/u x'], exitCode: 0 }, true],
    ['up --dry-run', { command: 'up', dryRun: true, output: ['would apply'], exitCode: 0 }, false],
    ['a failed up', { command: 'up', dryRun: false, output: ['error'], exitCode: 1 }, false],
    ['down', { command: 'down', dryRun: false, output: ['1/d x'], exitCode: 0 }, false],
  ])(
    'an operator %s: logins set again only when it moved the schema forward (a down+up re-creates the roles NOLOGIN)',
    async (_name, answer, sets) => {
      const { handler, queries } = wired(answer);
      const result = (await handler({ command: answer.command, dryRun: answer.dryRun }, {})) as {
        output: string[];
      };
      expect(queries.includes('ALTER ROLE')).toBe(sets);
      expect(result.output).toEqual(
        sets
          ? [...answer.output, `service login: ${BOT}: LOGIN with the password of secret:${BOT}`]
          : answer.output,
      );
    },
  );

  test('set-service-logins sets them without migrating', async () => {
    const { handler, calls } = wired();
    expect(await handler({ command: 'set-service-logins' }, {})).toEqual({
      serviceLogins: [`${BOT}: LOGIN with the password of secret:${BOT}`],
    });
    expect(calls).toEqual(['end']);
  });
});
