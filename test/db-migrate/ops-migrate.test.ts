import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { staging } from '../../environments';
import type { OperatorResponse } from '../../lambda/db-migrate/operations';
import { runbookNames } from '../../lib/names';
import { main } from '../../lib/ops';
import { OpsContext } from '../../lib/ops/context';

const lambda = mockClient(LambdaClient);
const FUNCTION = 'StagingStack-MigrationsFunction-abc';

function context(answer = false, outputs: Record<string, string> = { MigrationFunctionName: FUNCTION }) {
  const lines: string[] = [];
  const questions: string[] = [];
  const ctx: OpsContext = {
    env: staging,
    names: runbookNames('staging'),
    outputs: async () => outputs,
    print: (line) => lines.push(line),
    confirm: async (question) => {
      questions.push(question);
      return answer;
    },
  };
  return { ctx, lines, questions };
}

const response = (overrides: Partial<OperatorResponse>): OperatorResponse => ({
  command: 'version',
  dryRun: false,
  version: '20240201090000',
  dirty: false,
  steps: [],
  output: ['20240201090000'],
  exitCode: 0,
  deployedVersions: ['20240115120000', '20240125090000', '20240201090000'],
  ...overrides,
});

const reply = (body: unknown, functionError?: string) => ({
  StatusCode: 200,
  FunctionError: functionError,
  Payload: new TextEncoder().encode(JSON.stringify(body)) as never,
});

const sent = () =>
  lambda
    .commandCalls(InvokeCommand)
    .map((c) => JSON.parse(new TextDecoder().decode(c.args[0].input.Payload as Uint8Array)));

const DOWN_PLAN = response({
  command: 'down',
  dryRun: true,
  steps: [
    {
      version: '20240201090000',
      target: '20240125090000',
      direction: 'down',
      file: '20240201090000_ml_predictions.down.sql',
    },
  ],
  output: ['would run 20240201090000/d ml_predictions (20240201090000_ml_predictions.down.sql)'],
});

beforeEach(() => lambda.reset());

test('version invokes the function synchronously and prints N, as golang-migrate does', async () => {
  lambda.on(InvokeCommand).resolves(reply(response({})));
  const { ctx, lines } = context();
  expect(await main(['migrate', 'version', '--env', 'staging'], () => ctx)).toBe(0);
  expect(lambda.commandCalls(InvokeCommand)[0].args[0].input).toMatchObject({
    FunctionName: FUNCTION,
    InvocationType: 'RequestResponse',
  });
  expect(sent()).toEqual([{ command: 'version' }]);
  expect(lines).toEqual(['20240201090000']);
});

test('version with no migration prints the CLI error and exits 1', async () => {
  lambda
    .on(InvokeCommand)
    .resolves(reply(response({ version: null, output: ['error: no migration'], exitCode: 1 })));
  const { ctx, lines } = context();
  expect(await main(['migrate', 'version', '--env', 'staging'], () => ctx)).toBe(1);
  expect(lines).toEqual(['error: no migration']);
});

test('up prints one line per migration, without asking', async () => {
  lambda.on(InvokeCommand).resolves(
    reply(
      response({
        command: 'up',
        steps: [{ version: '20240201090000', target: '20240201090000', direction: 'up', file: 'x.up.sql' }],
        output: ['20240201090000/u ml_predictions (41.2ms)'],
      }),
    ),
  );
  const { ctx, lines, questions } = context();
  expect(await main(['migrate', 'up', '--env', 'staging'], () => ctx)).toBe(0);
  expect(sent()).toEqual([{ command: 'up' }]);
  expect(lines).toEqual([
    '20240201090000/u ml_predictions (41.2ms)',
    'staging: migrate up done: 1 migration file(s) ran; the database is at version 20240201090000',
  ]);
  expect(questions).toEqual([]);
});

test('down N lists the files it will run, asks, and runs nothing when declined', async () => {
  lambda.on(InvokeCommand).resolves(reply(DOWN_PLAN));
  const { ctx, lines, questions } = context(false);
  expect(await main(['migrate', 'down', '1', '--env', 'staging'], () => ctx)).toBe(1);
  expect(sent()).toEqual([{ command: 'down', steps: 1, dryRun: true }]);
  expect(lines).toEqual([
    'staging: the database is at version 20240201090000. These down migrations will run, in order (they can drop tables and the data in them):',
    '  20240201090000_ml_predictions.down.sql  -> version 20240125090000',
    'Not applying down migrations: nothing changed (confirm interactively, or pass --yes).',
  ]);
  expect(questions).toEqual(['Run 1 down migration(s) on staging?']);
});

test('down N runs the down migrations once confirmed', async () => {
  lambda
    .on(InvokeCommand)
    .resolvesOnce(reply(DOWN_PLAN))
    .resolvesOnce(
      reply(
        response({
          command: 'down',
          version: '20240125090000',
          output: ['20240201090000/d ml_predictions (9ms)'],
        }),
      ),
    );
  const { ctx, lines } = context(true);
  expect(await main(['migrate', 'down', '1', '--env', 'staging', '--yes'], () => ctx)).toBe(0);
  expect(sent()).toEqual([
    { command: 'down', steps: 1, dryRun: true },
    { command: 'down', steps: 1 },
  ]);
  expect(lines.slice(-2)).toEqual([
    '20240201090000/d ml_predictions (9ms)',
    'staging: migrate down done: 0 migration file(s) ran; the database is at version 20240125090000',
  ]);
});

test('--end-service-sessions reaches the function with down (a down past the service roles ends their sessions)', async () => {
  lambda
    .on(InvokeCommand)
    .resolvesOnce(reply(DOWN_PLAN))
    .resolvesOnce(reply(response({ command: 'down', version: '20240125090000', output: ['done'] })));
  const { ctx } = context(true);
  expect(
    await main(['migrate', 'down', '1', '--env', 'staging', '--yes', '--end-service-sessions'], () => ctx),
  ).toBe(0);
  expect(sent()).toEqual([
    { command: 'down', steps: 1, endServiceSessions: true, dryRun: true },
    { command: 'down', steps: 1, endServiceSessions: true },
  ]);
});

test('goto to a higher version runs without asking', async () => {
  lambda
    .on(InvokeCommand)
    .resolvesOnce(
      reply(
        response({
          dryRun: true,
          command: 'goto',
          steps: [{ version: '3', target: '3', direction: 'up', file: '3_c.up.sql' }],
        }),
      ),
    )
    .resolvesOnce(reply(response({ command: 'goto', output: ['3/u c (1ms)'] })));
  const { ctx, questions } = context(false);
  expect(await main(['migrate', 'goto', '3', '--env', 'staging'], () => ctx)).toBe(0);
  expect(sent()).toEqual([
    { command: 'goto', version: '3', dryRun: true },
    { command: 'goto', version: '3' },
  ]);
  expect(questions).toEqual([]);
});

test("goto to a lower version asks first (the guide's goto 20240115120000)", async () => {
  lambda.on(InvokeCommand).resolves(reply({ ...DOWN_PLAN, command: 'goto' }));
  const { ctx, questions } = context(false);
  expect(await main(['migrate', 'goto', '20240115120000', '--env', 'staging'], () => ctx)).toBe(1);
  expect(sent()).toEqual([{ command: 'goto', version: '20240115120000', dryRun: true }]);
  expect(questions).toHaveLength(1);
});

test('force sends the version as a string, -1 included, after a dry run and a confirmation, and says what it did (golang-migrate prints nothing)', async () => {
  lambda.on(InvokeCommand).resolves(reply(response({ command: 'force', version: null, output: [] })));
  const { ctx, lines, questions } = context(true);
  expect(await main(['migrate', 'force', '-1', '--env', 'staging'], () => ctx)).toBe(0);
  expect(sent()).toEqual([
    { command: 'force', version: '-1', dryRun: true },
    { command: 'force', version: '-1' },
  ]);
  expect(questions).toEqual(['Record no version on staging without running any migration (now no version)?']);
  expect(lines).toEqual([
    'staging: migrate force done: forced the recorded version to -1, no migration ran; the database is at version no version',
  ]);
});

test('force without a confirmation (no terminal, no --yes) changes nothing and names --yes', async () => {
  lambda
    .on(InvokeCommand)
    .resolves(
      reply(response({ command: 'force', dryRun: true, version: '20240201090000', dirty: true, output: [] })),
    );
  const { ctx, lines, questions } = context(false);
  expect(await main(['migrate', 'force', '20240125090000', '--env', 'staging'], () => ctx)).toBe(1);
  expect(sent()).toEqual([{ command: 'force', version: '20240125090000', dryRun: true }]);
  expect(questions).toEqual([
    'Record version 20240125090000 on staging without running any migration (now 20240201090000 (dirty))?',
  ]);
  expect(lines).toEqual(['Not forcing the version: nothing changed (confirm interactively, or pass --yes).']);
});

test('force to a version no deployed file has is refused before anything is recorded', async () => {
  lambda
    .on(InvokeCommand)
    .resolves(
      reply(response({ command: 'force', dryRun: true, version: '20240201090000', dirty: true, output: [] })),
    );
  const { ctx, questions } = context(true);
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await main(['migrate', 'force', '12345', '--env', 'staging'], () => ctx)).toBe(2);
    expect(String(stderr.mock.calls.map((c) => c[0]).join(''))).toContain(
      'force 12345: 12345 is not a version of the deployed migrations (they go from 20240115120000 to 20240201090000; ' +
        'the database is at 20240201090000, dirty); nothing was changed.',
    );
  } finally {
    stderr.mockRestore();
  }
  expect(sent()).toEqual([{ command: 'force', version: '12345', dryRun: true }]);
  expect(questions).toEqual([]);
});

test('every verb but version ends with one line saying what it did', async () => {
  for (const verb of ['up', 'ensure-partitions']) {
    lambda.reset();
    lambda.on(InvokeCommand).resolves(reply(response({ command: verb as 'up', output: [] })));
    const { ctx, lines } = context();
    expect(await main(['migrate', verb, '--env', 'staging'], () => ctx)).toBe(0);
    expect(lines[lines.length - 1]).toMatch(
      new RegExp(`^staging: migrate ${verb} done: .*version 20240201090000$`),
    );
  }
});

test('goto to a version the files do not have: a clear usage error before anything runs', async () => {
  lambda.on(InvokeCommand).resolves(
    reply(
      response({
        command: 'goto',
        dryRun: true,
        output: [
          'then fail: no migration found for version 12345: read down for version 12345 .: file does not exist',
        ],
        exitCode: 1,
      }),
    ),
  );
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const { ctx, questions } = context(true);
    expect(await main(['migrate', 'goto', '12345', '--env', 'staging'], () => ctx)).toBe(2);
    expect(String(stderr.mock.calls[0][0])).toBe(
      'error: goto 12345: 12345 is not a version of the deployed migrations (the database is at 20240201090000); ' +
        'nothing was run. A version is the number before "_" in migrations/<version>_<title>.up.sql, e.g. migrate goto 20240115120000\n',
    );
    expect(sent()).toEqual([{ command: 'goto', version: '12345', dryRun: true }]);
    expect(questions).toEqual([]);
  } finally {
    stderr.mockRestore();
  }
});

test('ensure-partitions runs the daily partition upkeep by hand', async () => {
  lambda
    .on(InvokeCommand)
    .resolves(
      reply(response({ command: 'ensure-partitions', output: ['price_history: created 1 partition'] })),
    );
  const { ctx } = context();
  expect(await main(['migrate', 'ensure-partitions', '--env', 'staging'], () => ctx)).toBe(0);
  expect(sent()).toEqual([{ command: 'ensure-partitions' }]);
});

test("fails with golang-migrate's message when the function refuses", async () => {
  lambda
    .on(InvokeCommand)
    .resolves(
      reply(
        { errorType: 'DirtyDatabaseError', errorMessage: 'Dirty database version 3. Fix and force version.' },
        'Unhandled',
      ),
    );
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const { ctx } = context();
    expect(await main(['migrate', 'up', '--env', 'staging'], () => ctx)).toBe(1);
    expect(stderr).toHaveBeenCalledWith('error: Dirty database version 3. Fix and force version.\n');
  } finally {
    stderr.mockRestore();
  }
});

describe('fails on a bad command line with exit 2, invoking nothing', () => {
  test.each([
    [['migrate'], /a verb is missing: use migrate version \| up \[N\] \| down N \| goto V \| force V/],
    [['migrate', 'drop'], /"drop" is not a migrate verb/],
    [
      ['migrate', 'down'],
      /N \(how many migrations to undo\) is missing: e\.g\. npm run ops -- migrate down 1/,
    ],
    [['migrate', 'down', '0'], /"0" is not a whole number >= 1/],
    [['migrate', 'goto', 'v2'], /V "v2" is not a whole number >= 0/],
    [['migrate', 'force', '-2'], /V "-2" is not a whole number >= -1/],
    [['migrate', 'version', '3'], /version takes no argument/],
    [['migrate', 'ensure-partitions', '3'], /ensure-partitions takes no argument/],
    [['migrate', 'up', '--end-service-sessions'], /--end-service-sessions applies only to down and goto/],
  ])('%j', async (argv, message) => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const { ctx } = context();
      expect(await main([...argv, '--env', 'staging'], () => ctx)).toBe(2);
      expect(String(stderr.mock.calls[0][0])).toMatch(message);
      expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    } finally {
      stderr.mockRestore();
    }
  });
});

test('fails when the stack has no MigrationFunctionName output yet', async () => {
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const { ctx } = context(false, {});
    expect(await main(['migrate', 'version', '--env', 'staging'], () => ctx)).toBe(1);
    expect(String(stderr.mock.calls[0][0])).toMatch(
      /has no output MigrationFunctionName: deploy the current version/,
    );
  } finally {
    stderr.mockRestore();
  }
});
