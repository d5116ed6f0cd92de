import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceUpdateEvent,
} from 'aws-lambda';
import * as net from 'node:net';
import { Client } from 'pg';
import { clientConfig, connect } from '../../lambda/db-migrate/connection';
import { MigrationSet } from '../../lambda/db-migrate/files';
import { createHandler } from '../../lambda/db-migrate/handler';
import { PHYSICAL_RESOURCE_ID } from '../../lambda/db-migrate/custom-resource';
import { Migrator } from '../../lambda/db-migrate/runner';
import { OpenSession } from '../../lambda/db-migrate/session';
import { useFreshDatabase, usePostgres } from '../helpers/postgres';
import { migrationsDir, sessionFactory, tableExists, versionRows } from './fixtures';

jest.setTimeout(30_000);
const postgres = usePostgres();

const V1 = { '1_a.up.sql': 'CREATE TABLE a (id int);', '1_a.down.sql': 'DROP TABLE a;' };
const V2 = { ...V1, '2_b.up.sql': 'CREATE TABLE b (id int);', '2_b.down.sql': 'DROP TABLE b;' };

let database: string;
let admin: Client;
let files: string;

const fresh = useFreshDatabase(postgres, 'cr');
beforeEach(() => ({ database, admin } = fresh()));

const context = { getRemainingTimeInMillis: () => 600_000 };
const quiet = () => undefined;
const handlerWith = (open: OpenSession) =>
  createHandler({ open, environmentName: 'staging', logInfo: quiet });
const handler = () => handlerWith(sessionFactory(postgres(), database, () => files));

const common = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:framework-onEvent',
  ResponseURL: 'https://cloudformation-custom-resource-response.example/response',
  StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/StagingStack/1',
  RequestId: 'request-1',
  LogicalResourceId: 'MigrationsResource',
  ResourceType: 'Custom::DatabaseMigrations',
};
const props = (hash: string) => ({ ServiceToken: common.ServiceToken, MigrationsHash: hash });
const create = (): CloudFormationCustomResourceCreateEvent => ({
  ...common,
  RequestType: 'Create',
  ResourceProperties: props('h1'),
});
const update = (hash: string, oldHash: string): CloudFormationCustomResourceUpdateEvent => ({
  ...common,
  RequestType: 'Update',
  PhysicalResourceId: PHYSICAL_RESOURCE_ID,
  ResourceProperties: props(hash),
  OldResourceProperties: props(oldHash),
});
const remove = (): CloudFormationCustomResourceDeleteEvent => ({
  ...common,
  RequestType: 'Delete',
  PhysicalResourceId: PHYSICAL_RESOURCE_ID,
  ResourceProperties: props('h2'),
});
const send = (event: CloudFormationCustomResourceEvent) => handler()(event, context);

describe('Create', () => {
  test('runs up on an empty database and returns the fixed physical id', async () => {
    files = migrationsDir(V1);
    await expect(send(create())).resolves.toEqual({
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      Data: { Version: '1', Applied: '1', Outcome: 'applied 1 migration(s)' },
    });
    expect(await versionRows(admin)).toEqual([{ version: '1', dirty: false }]);
  });
});

describe('Update', () => {
  test('applies the new files and keeps the physical id', async () => {
    files = migrationsDir(V1);
    await send(create());
    files = migrationsDir(V2);
    const response = await send(update('h2', 'h1'));
    expect(response).toEqual({
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      Data: { Version: '2', Applied: '1', Outcome: 'applied 1 migration(s)' },
    });
    expect(await tableExists(admin, 'b')).toBe(true);
  });

  test('with unchanged files is no change', async () => {
    files = migrationsDir(V2);
    await send(create());
    await expect(send(update('h2', 'h2'))).resolves.toMatchObject({
      Data: { Applied: '0', Outcome: 'no change' },
    });
  });

  test('rolling back to older files succeeds without running any down migration', async () => {
    files = migrationsDir(V2);
    await send(create());
    // CloudFormation's update rollback: an Update with the old properties, the old function code.
    files = migrationsDir(V1);
    const response = await send(update('h1', 'h2'));
    expect(response).toEqual({
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      Data: {
        Version: '2',
        Applied: '0',
        Outcome: 'database at 2 is ahead of the deployed files (latest 1): rollback, nothing run',
      },
    });
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
    expect(await tableExists(admin, 'b')).toBe(true);
  });

  test('fails when the database is at a version missing below the latest file (a renamed file)', async () => {
    files = migrationsDir(V2);
    await send(create());
    files = migrationsDir({ ...V1, '3_c.up.sql': 'SELECT 1;' });
    await expect(send(update('h3', 'h2'))).rejects.toThrow(
      /^no migration found for version 2: .*restore the file 2_\*\.up\.sql/,
    );
  });
});

describe('Delete', () => {
  test('never touches the database, not even to connect', async () => {
    files = migrationsDir(V2);
    await send(create());
    const open = jest.fn<ReturnType<OpenSession>, Parameters<OpenSession>>();
    await expect(handlerWith(open)(remove(), context)).resolves.toEqual({
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
    });
    expect(open).not.toHaveBeenCalled();
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
    expect(await tableExists(admin, 'a')).toBe(true);
  });
});

describe('failures stop the deploy with what to do', () => {
  test('fails on a dirty database, saying to force the version the schema is at', async () => {
    files = migrationsDir(V2);
    await send(create());
    // File 2 committed (its record says so); only the final clean write is missing.
    await admin.query('UPDATE schema_migrations SET dirty = true');
    const error: Error = await send(update('h2', 'h1')).catch((e) => e);
    expect(error.message).toMatch(
      /^Dirty database version 2\. Fix and force version\. The deploy stopped before/,
    );
    expect(error.message).toContain('The up 2_b.up.sql committed');
    expect(error.message).toContain('npm run ops -- migrate force 2 --env staging');
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: true }]);
  });

  test('fails on a failing file, naming the version to force afterwards', async () => {
    files = migrationsDir({ ...V1, '2_broken.up.sql': 'CREATE TABLE b (id int); SELECT 1/0;' });
    const error: Error = await send(create()).catch((e) => e);
    expect(error.message).toMatch(/^migration failed: division by zero in line 0: 2_broken\.up\.sql\. /);
    expect(error.message).toContain('schema_migrations now says (2, dirty)');
    expect(error.message).toContain('npm run ops -- migrate force 1 --env staging');
    expect(await tableExists(admin, 'b')).toBe(false);
  });

  test('fails while another migration holds the lock, touching nothing', async () => {
    files = migrationsDir(V1);
    const holder = await postgres().connect(database);
    try {
      const probe = await Migrator.open(holder, MigrationSet.fromDirectory(files), { database });
      await holder.query('SELECT pg_advisory_lock($1)', [probe.lockId]);
      const error: Error = await send(create()).catch((e) => e);
      expect(error.message).toMatch(/^timeout: can't acquire database lock \(advisory lock \d+\)\./);
      expect(await tableExists(admin, 'schema_migrations')).toBe(false);
    } finally {
      await holder.end();
    }
  });

  test('fails within the connect timeout when the database does not answer', async () => {
    // Accepts TCP and never speaks: what a dropped security-group rule or a stuck instance looks like.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const settings = {
      host: '127.0.0.1',
      port,
      database,
      secretId: 'x',
      connectTimeoutMs: 500,
      lockTimeoutMs: 1,
    };
    const open: OpenSession = async () => {
      const client = await connect(clientConfig(settings, { username: 'u', password: 'p' }));
      return { migrator: undefined as never, close: () => client.end() };
    };
    try {
      const started = Date.now();
      const error: Error = await handlerWith(open)(create(), context).catch((e) => e);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(error.message).toMatch(
        new RegExp(
          `^cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/${database} \\(connect timeout 0\\.5 s\\)`,
        ),
      );
      expect(error.message).toContain('security group admits the migration function');
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });
});

describe("CloudFormation's update rollback always succeeds", () => {
  /** CloudFormation's events carry LatestVersion (lib/migrations.ts); a rollback sends the old one. */
  const versioned = (hash: string, latest: string) => ({ ...props(hash), LatestVersion: latest });
  const forward = (): CloudFormationCustomResourceUpdateEvent => ({
    ...update('h2', 'h1'),
    ResourceProperties: versioned('h2', '2'),
    OldResourceProperties: versioned('h1', '1'),
  });
  const rollback = (): CloudFormationCustomResourceUpdateEvent => ({
    ...update('h1', 'h2'),
    ResourceProperties: versioned('h1', '1'),
    OldResourceProperties: versioned('h2', '2'),
  });
  let pages: string[];
  beforeEach(() => (pages = []));
  const handlerPaging = (open: OpenSession) =>
    createHandler({
      open,
      environmentName: 'staging',
      logInfo: quiet,
      signals: { partitions: quiet, needsAttention: (what) => pages.push(what) },
    });
  const sendPaging = (event: CloudFormationCustomResourceEvent) =>
    handlerPaging(sessionFactory(postgres(), database, () => files))(event, context);

  test('after a failed forward migration: SUCCESS, the database left as it is, on-call paged with the advice', async () => {
    files = migrationsDir(V1);
    await send(create());
    files = migrationsDir({ ...V1, '2_broken.up.sql': 'CREATE TABLE b (id int); SELECT 1/0;' });
    await expect(sendPaging(forward())).rejects.toThrow(/^migration failed: division by zero/);
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: true }]);

    files = migrationsDir(V1); // the old function code and files
    await expect(sendPaging(rollback())).resolves.toEqual({
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      Data: {
        Version: '2',
        Applied: '0',
        Outcome: 'rollback: nothing run; database dirty at 2, on-call paged',
      },
    });
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: true }]);
    expect(pages).toHaveLength(1);
    expect(pages[0]).toMatch(
      /^The database is dirty at 2, above the files this Update deployed \(latest 1\)/,
    );
    expect(pages[0]).toContain('npm run ops -- migrate force 1 --env staging');
  });

  test('succeeds without connecting to a database that does not answer, and pages', async () => {
    const open: OpenSession = async () => {
      throw new Error('cannot connect to PostgreSQL at 10.0.0.1:5432/clever_better (connect timeout 10 s)');
    };
    await expect(handlerPaging(open)(rollback(), context)).resolves.toEqual({
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      Data: {
        Version: 'unknown',
        Applied: '0',
        Outcome: 'rollback: database not reachable, nothing run, on-call paged',
      },
    });
    expect(pages[0]).toMatch(/^During an update rollback the database could not be checked \(cannot connect/);
  });

  test('a database ahead of (or at) the restored files: SUCCESS, nothing run, nobody paged', async () => {
    files = migrationsDir(V2);
    await send(create());
    files = migrationsDir(V1);
    await expect(sendPaging(rollback())).resolves.toMatchObject({ Data: { Version: '2', Applied: '0' } });
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
    expect(pages).toEqual([]);
  });

  test('an Update of unchanged LatestVersion finding the database dirty above its files succeeds and pages', async () => {
    files = migrationsDir(V2);
    await send(create());
    await admin.query('UPDATE schema_migrations SET dirty = true');
    files = migrationsDir(V1);
    await expect(sendPaging(update('h1', 'h2'))).resolves.toMatchObject({
      Data: { Version: '2', Applied: '0' },
    });
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: true }]);
    expect(pages).toHaveLength(1);
  });

  test('the forward Update on a dirty database still fails, with the advice', async () => {
    files = migrationsDir(V1);
    await send(create());
    files = migrationsDir({ ...V1, '2_broken.up.sql': 'SELECT 1/0;' });
    await expect(sendPaging(forward())).rejects.toThrow();
    files = migrationsDir(V2);
    await expect(sendPaging(forward())).rejects.toThrow(
      /^Dirty database version 2\. .*force 1 --env staging/,
    );
    expect(pages).toEqual([]);
  });
});

describe('the response', () => {
  test('is small and carries no credentials', async () => {
    files = migrationsDir(V2);
    const response = await send(create());
    const text = JSON.stringify(response);
    expect(Buffer.byteLength(text)).toBeLessThan(4096);
    expect(text).not.toContain(postgres().password);
  });
});
