import type { CloudFormationCustomResourceUpdateEvent } from 'aws-lambda';
import * as path from 'node:path';
import { Client } from 'pg';
import { ConfigurationError, ConnectionError, Credentials } from '../../lambda/db-migrate/connection';
import { PHYSICAL_RESOURCE_ID } from '../../lambda/db-migrate/custom-resource';
import { createHandler } from '../../lambda/db-migrate/handler';
import { PostMigrationStep } from '../../lambda/db-migrate/post-migration';
import { OpenSession } from '../../lambda/db-migrate/session';
import { serviceLoginStep } from '../../lambda/db-migrate/service-logins';
import { useFreshDatabase, usePostgres } from '../helpers/postgres';
import { sessionFactory } from './fixtures';

/**
 * Every post-migration step follows the migration step's rule: on a forward Update its failure
 * fails the deploy; on CloudFormation's update rollback (an Update whose LatestVersion goes back)
 * it pages and the event succeeds, so the stack never ends in UPDATE_ROLLBACK_FAILED (AWS
 * CloudFormation User Guide, "Continue rolling back an update": a resource that fails during the
 * rollback leaves the stack in UPDATE_ROLLBACK_FAILED). Each step's failures are driven through
 * both kinds of Update; the table of steps is built from the handler's own list.
 */

jest.setTimeout(60_000);
const postgres = usePostgres();
const fresh = useFreshDatabase(postgres, 'steps');
let database: string;
let admin: Client;
beforeEach(() => ({ database, admin } = fresh()));

const MIGRATIONS = path.join(__dirname, '..', '..', 'migrations');
const BOT = 'clever_better_bot';
const context = { getRemainingTimeInMillis: () => 600_000 };
const quiet = () => undefined;

const props = (latest: string) => ({
  ServiceToken: 'arn:x',
  MigrationsHash: `h${latest}`,
  LatestVersion: latest,
});
const updateEvent = (to: string, from: string): CloudFormationCustomResourceUpdateEvent => ({
  ServiceToken: 'arn:x',
  ResponseURL: 'https://example/response',
  StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/StagingStack/1',
  RequestId: 'r',
  LogicalResourceId: 'Migrations',
  ResourceType: 'Custom::DatabaseMigrations',
  RequestType: 'Update',
  PhysicalResourceId: PHYSICAL_RESOURCE_ID,
  ResourceProperties: props(to),
  OldResourceProperties: props(from),
});
const LATEST = '20261201040000';
/** A forward Update to the repository's files, and the rollback CloudFormation sends after it. */
const FORWARD = () => updateEvent(LATEST, '20240201090000');
const ROLLBACK = () => updateEvent('20240201090000', LATEST);

const goodSecret = async (secretId: string): Promise<Credentials> => ({
  username: secretId.replace(/^secret:/, ''),
  password: 'pw-1',
});

/** Ways each step fails, as a real deploy produces them. */
interface Breakage {
  readonly step: string;
  readonly how: string;
  /** The handler's pieces with this step broken. */
  readonly wiring: () => { open: OpenSession; afterMigration: PostMigrationStep[]; partitions?: () => void };
  readonly error: RegExp;
}

const logins = (fetch: (id: string) => Promise<Credentials>, connect?: () => Promise<Client>) =>
  serviceLoginStep({
    logins: () => [{ role: BOT, secretId: `secret:${BOT}` }],
    connect: connect ?? (() => postgres().connect(database)),
    fetchCredentials: fetch,
  });

const open = () => sessionFactory(postgres(), database, () => MIGRATIONS);

const BREAKAGES: Breakage[] = [
  {
    step: 'service logins',
    how: 'a secret holding another user name',
    wiring: () => ({
      open: open(),
      afterMigration: [logins(async () => ({ username: 'someone_else', password: 'x' }))],
    }),
    error:
      /post-migration step "service logins" failed: secret secret:clever_better_bot has username "someone_else"/,
  },
  {
    step: 'service logins',
    how: 'a missing secret',
    wiring: () => ({
      open: open(),
      afterMigration: [
        logins(async (id) => {
          throw new ConfigurationError(`secret ${id} is not JSON. Fix: store {"username": …}`);
        }),
      ],
    }),
    error: /post-migration step "service logins" failed: secret secret:clever_better_bot is not JSON/,
  },
  {
    step: 'service logins',
    how: 'an unreachable database',
    wiring: () => ({
      open: open(),
      afterMigration: [
        logins(goodSecret, async () => {
          throw new ConnectionError('cannot connect to PostgreSQL at 10.0.0.1:5432/clever_better');
        }),
      ],
    }),
    error: /post-migration step "service logins" failed: cannot connect to PostgreSQL/,
  },
  {
    step: 'partition measurement',
    how: 'the database gone after the migration',
    wiring: () => {
      // The migration's session opens; the measurement's (the second) cannot.
      let opened = 0;
      const base = open();
      return {
        open: async (options) => {
          if (++opened > 1)
            throw new ConnectionError('cannot connect to PostgreSQL at 10.0.0.1:5432/clever_better');
          return base(options);
        },
        afterMigration: [],
        partitions: quiet,
      };
    },
    error: /post-migration step "partition measurement" failed: cannot connect to PostgreSQL/,
  },
];

function handlerFor(breakage: Breakage, pages: string[]) {
  const wiring = breakage.wiring();
  return createHandler({
    open: wiring.open,
    environmentName: 'staging',
    logInfo: quiet,
    signals: { partitions: wiring.partitions ?? quiet, needsAttention: (what) => pages.push(what) },
    afterMigration: wiring.afterMigration,
  });
}

describe.each(BREAKAGES)('$step fails ($how)', (breakage) => {
  test('a forward Update fails the deploy, naming the step', async () => {
    const pages: string[] = [];
    const error: Error = await handlerFor(breakage, pages)(FORWARD(), context).catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(breakage.error);
  });

  test('the rollback Update succeeds and pages, naming the step', async () => {
    const pages: string[] = [];
    // The forward deploy migrated (its later step failed); CloudFormation then rolls back.
    await handlerFor(breakage, pages)(FORWARD(), context).catch(() => undefined);
    const response = await handlerFor(breakage, pages)(ROLLBACK(), context);
    expect(response).toMatchObject({ PhysicalResourceId: PHYSICAL_RESOURCE_ID });
    expect(pages).toEqual([
      expect.stringContaining(`During an update rollback the post-migration step "${breakage.step}" failed`),
    ]);
  });
});

describe('service roles end exactly as designed', () => {
  afterEach(async () => {
    // Roles are server-wide: leave them as the migration creates them.
    await admin
      .query(`ALTER ROLE ${BOT} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION`)
      .catch(quiet);
    await admin.query(`ALTER ROLE clever_better_ml NOSUPERUSER NOCREATEROLE`).catch(quiet);
    await admin.query(`REVOKE pg_read_all_data FROM clever_better_ml`).catch(quiet);
  });

  test('roles created by hand with extra rights lose every one of them, and the deploy pages once, saying what', async () => {
    for (const [role, extra] of [
      [BOT, 'SUPERUSER CREATEDB BYPASSRLS REPLICATION'],
      ['clever_better_ml', 'CREATEROLE'],
    ]) {
      await admin.query(`DO $$ BEGIN CREATE ROLE ${role}; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
      await admin.query(`ALTER ROLE ${role} ${extra}`);
    }
    await admin.query('GRANT pg_read_all_data TO clever_better_ml');
    const pages: string[] = [];
    const handler = createHandler({
      open: open(),
      environmentName: 'staging',
      logInfo: quiet,
      signals: { partitions: quiet, needsAttention: (what) => pages.push(what) },
      afterMigration: [
        serviceLoginStep({
          logins: () => [
            { role: BOT, secretId: `secret:${BOT}` },
            { role: 'clever_better_ml', secretId: 'secret:clever_better_ml' },
          ],
          connect: () => postgres().connect(database),
          fetchCredentials: goodSecret,
        }),
      ],
    });
    await handler(FORWARD(), context);

    const { rows } = await admin.query(
      `SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolreplication, rolcanlogin,
              (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid)::int AS memberships
         FROM pg_roles r WHERE rolname IN ('${BOT}', 'clever_better_ml') ORDER BY 1`,
    );
    const designed = {
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolbypassrls: false,
      rolreplication: false,
      rolcanlogin: true,
      memberships: 0,
    };
    expect(rows).toEqual([
      { rolname: BOT, ...designed },
      { rolname: 'clever_better_ml', ...designed },
    ]);
    expect(pages).toHaveLength(1);
    expect(pages[0]).toMatch(
      /^service logins: removed rights the design does not grant: clever_better_bot: SUPERUSER, CREATEDB, BYPASSRLS, REPLICATION; clever_better_ml: CREATEROLE, member of pg_read_all_data\./,
    );
    // What the removal is for: the bot can no longer change the schema.
    const bot = new Client({ ...postgres().config(database), user: BOT, password: 'pw-1' });
    await bot.connect();
    try {
      await expect(bot.query('CREATE TABLE mine (id int)')).rejects.toThrow(/permission denied/);
    } finally {
      await bot.end();
    }

    // Nothing left to remove: the next deploy does not page.
    await handler(updateEvent(LATEST, LATEST), context);
    expect(pages).toHaveLength(1);
  });
});
