/**
 * `npm run bench:emergency-stop`: how long one emergency stop takes when its dependencies are slow,
 * against the dependency chain it cannot beat and the sequential runbook it replaces. The fake
 * Betfair answers a login in 200 ms and every other call in 300 ms; every AWS call takes 100 ms
 * (aws-sdk-client-mock). The handler itself runs unchanged. Also prints the bundled size.
 * Rounds: BENCH_ROUNDS (default 7), after one warm-up.
 *
 * Targets (the process exits 1 when one is missed): the run adds at most 10 % to its critical path
 * (so retries, deadlines and reporting cost nothing on the happy path), and it beats the sequential
 * runbook. The critical path is credentials → login → cancel-all → check → notification: the listing
 * the size cancelled is measured from goes out beside the cancel-all, so the report adds no call to it.
 */
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { build } from 'esbuild';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { FakeBetfair } from '../lib/local/betfair-server';

const AWS_MS = 100;
const LOGIN_MS = 200;
const CALL_MS = 300;
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const CONFIG = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:clever-better/staging/config-AbCdEf';
const BETFAIR = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:clever-better/staging/betfair-GhIjKl';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (n: number) => `${Math.round(n)} ms`;

async function main(): Promise<void> {
  // No extra matcher time: the chain below is the simulated latencies exactly.
  const fake = new FakeBetfair({ loginDelayMs: LOGIN_MS, callDelayMs: CALL_MS, cancelLatencyMs: 0 });
  await fake.start();
  let config = JSON.stringify({ live_trading_enabled: true });
  let notifiedAt = 0;
  const slow = async <T>(value: T) => {
    await sleep(AWS_MS);
    return value;
  };
  const secrets = mockClient(SecretsManagerClient);
  secrets.on(GetSecretValueCommand, { SecretId: CONFIG }).callsFake(() => slow({ SecretString: config }));
  secrets.on(GetSecretValueCommand, { SecretId: BETFAIR }).callsFake(() =>
    slow({
      SecretString: JSON.stringify({ app_key: fake.appKey, username: 'bot-user', password: 'bot-pass' }),
    }),
  );
  secrets.on(PutSecretValueCommand).callsFake((input: { SecretString: string }) => {
    config = input.SecretString;
    return slow({ VersionId: 'v2' });
  });
  mockClient(ECSClient)
    .on(UpdateServiceCommand)
    .callsFake(() => slow({ service: { desiredCount: 0, runningCount: 1 } }));
  mockClient(SNSClient)
    .on(PublishCommand)
    .callsFake(async () => {
      const res = await slow({ MessageId: 'm' });
      notifiedAt = performance.now();
      return res;
    });
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    CLEVER_BETTER_ENV: 'staging',
    CONFIG_SECRET_ID: CONFIG,
    BETFAIR_SECRET_ID: BETFAIR,
    CLUSTER_NAME: 'clever-better-staging',
    BOT_SERVICE_NAME: 'bot',
    TOPIC_ARN: 'arn:aws:sns:eu-west-1:111111111111:OnCall',
    ...fake.environment,
  });
  const { handler } = await import('../lambda/emergency-stop/index');

  const once = async () => {
    config = JSON.stringify({ live_trading_enabled: true }); // a fresh stop each round, so the flag is written
    fake.open = [];
    fake.matched = [];
    fake.placeUnmatched('1', 5);
    fake.placeMatched('2', 5);
    const event = { source: 'manual', reason: 'benchmark', requestedBy: 'bench' };
    const start = performance.now();
    const report = (await handler(event)) as { ok: boolean };
    const end = performance.now();
    if (!report.ok) throw new Error(`the stop failed: ${JSON.stringify(report)}`);
    return { returned: end - start, notified: notifiedAt - start };
  };
  await once();
  const runs = [];
  for (let i = 0; i < rounds; i++) runs.push(await once());
  await fake.stop();

  const returned = median(runs.map((r) => r.returned));
  const notified = median(runs.map((r) => r.notified));
  // The dependency chains, from the simulated latencies. The listing the size cancelled is measured
  // from (a cancel-all reports no bet) is sent together with the cancel-all, so it is off the chain.
  const issueChain = LOGIN_MS + CALL_MS + CALL_MS; // login → cancelOrders → check
  const slowestChain = AWS_MS + issueChain; // Betfair credentials must be read before the login
  const criticalPath = slowestChain + AWS_MS; // …and the notification must follow the check
  const sequential =
    2 * AWS_MS + // read + write the config secret
    AWS_MS + // UpdateService
    AWS_MS +
    LOGIN_MS +
    4 * CALL_MS + // credentials, login, list, cancel, check, logout
    AWS_MS; // publish
  const overhead = returned / criticalPath;
  const targets: [string, number, number][] = [
    ['end-to-end / critical path', overhead, 1.1],
    ['end-to-end / sequential runbook', returned / sequential, 1.0],
  ];

  const bundle = await build({
    entryPoints: [path.join(__dirname, '..', 'lambda', 'emergency-stop', 'index.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    write: false,
  });
  const code = bundle.outputFiles[0].contents;

  const rows: [string, string][] = [
    ['rounds (after 1 warm-up)', String(rounds)],
    ['handler end-to-end (median, until it returns)', ms(returned)],
    ['  of which: until on-call notified (all effects done)', ms(notified)],
    ['slowest chain: login → cancel → check', ms(issueChain)],
    ['slowest chain incl. its credentials read', ms(slowestChain)],
    ['critical path (chain + notification after it)', ms(criticalPath)],
    ['listing for the size cancelled (beside the cancel-all, off the chain)', ms(CALL_MS)],
    ['sequential runbook (every call one after another)', ms(sequential)],
    ['ratio end-to-end / critical path (overhead of the run)', overhead.toFixed(2)],
    ['ratio end-to-end / (login → cancel → check)', (returned / issueChain).toFixed(2)],
    ['  lowest possible (critical path / that chain)', (criticalPath / issueChain).toFixed(2)],
    ['ratio end-to-end / slowest chain incl. credentials', (returned / slowestChain).toFixed(2)],
    ['ratio notified / slowest chain incl. credentials', (notified / slowestChain).toFixed(2)],
    ['ratio end-to-end / sequential runbook', (returned / sequential).toFixed(2)],
    [
      'bundle (esbuild, minified, AWS SDK included)',
      `${(code.length / 1024).toFixed(0)} KiB (${(gzipSync(code).length / 1024).toFixed(0)} KiB gzipped)`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(
    `Emergency stop: AWS calls ${AWS_MS} ms, Betfair login ${LOGIN_MS} ms, other Betfair calls ${CALL_MS} ms\n`,
  );
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
  process.stdout.write(
    `  (the logout, ${CALL_MS} ms, starts with the notification; the handler does not wait for its answer: budget logoutGraceMs 0)\n`,
  );
  let missed = 0;
  for (const [name, value, target] of targets) {
    const ok = value <= target;
    if (!ok) missed++;
    process.stdout.write(
      `  target ${name} ≤ ${target.toFixed(2)}: ${value.toFixed(2)} ${ok ? 'met' : 'MISSED'}\n`,
    );
  }
  if (missed > 0) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
