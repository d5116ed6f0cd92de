import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { environments, local, operableEnvironments, staging } from '../../environments';
import {
  envFileText,
  LOCAL_AWS_VARIABLES,
  parseEnvFile,
  readRuntime,
  useLocalEndpoints,
} from '../../lib/local/runtime';
import { CONTAINER_ONLY_VARIABLES, localContract } from '../../lib/local/stand-in';
import { findEnvironment } from '../../lib/ops/context';
import { synthesized } from '../helpers/app';

const CONTRACT = localContract({
  awsEndpoint: 'http://127.0.0.1:1',
  database: { host: '127.0.0.1', port: 2, username: 'bot', password: 'pw' },
  betfairEnvironment: { BETFAIR_BETTING_URL: 'http://127.0.0.1:3/exchange/betting/rest/v1.0/' },
});

describe('the local environment', () => {
  test('is never synthesized into a deployable stack, but ops can act on it', () => {
    expect(environments.map((e) => e.name)).not.toContain('local');
    expect(operableEnvironments.map((e) => e.name)).toContain('local');
    expect(findEnvironment('local')).toBe(local);
  });

  test('keeps live trading off', () => {
    expect(local.liveTradingEnabled).toBe(false);
  });
});

describe('the local runtime contract', () => {
  const { template } = synthesized('staging');
  const [bot] = Object.values(
    template.findResources('AWS::ECS::TaskDefinition', { Properties: { Family: 'clever-better-bot' } }),
  )[0].Properties.ContainerDefinitions;

  test('names everything the stack gives the bot container: environment and injected secrets', () => {
    const names: string[] = [
      ...(bot.Environment ?? []).map((e: { Name: string }) => e.Name),
      ...(bot.Secrets ?? []).map((s: { Name: string }) => s.Name),
    ];
    expect(names.length).toBeGreaterThan(5);
    const expected = names.filter((n) => !CONTAINER_ONLY_VARIABLES.includes(n));
    expect(Object.keys(CONTRACT)).toEqual(expect.arrayContaining(expected));
    // Every omission is one the stack really makes, so the list cannot rot.
    expect(names).toEqual(expect.arrayContaining([...CONTAINER_ONLY_VARIABLES]));
  });

  test('gives the bot the Betfair heartbeat timeout configured in environments/', () => {
    expect(bot.Environment).toContainEqual({
      Name: 'BETFAIR_HEARTBEAT_TIMEOUT_SECONDS',
      Value: String(staging.betfairHeartbeatTimeoutSeconds),
    });
    expect(CONTRACT.BETFAIR_HEARTBEAT_TIMEOUT_SECONDS).toBe(String(local.betfairHeartbeatTimeoutSeconds));
  });

  test('exports nothing that changes how the AWS SDK or CLI reach AWS (sourcing .env must not hijack ops)', () => {
    const keys = Object.keys(CONTRACT);
    expect(keys).toEqual(expect.arrayContaining(Object.values(LOCAL_AWS_VARIABLES)));
    // The SDKs' and CLI's settings all start with AWS_ (AWS SDKs and Tools reference guide, "Environment variables").
    expect(keys.filter((k) => /^AWS_/.test(k))).toEqual([]);
  });

  test('round-trips through the .env file', () => {
    expect(parseEnvFile(envFileText(CONTRACT))).toEqual(CONTRACT);
  });
});

describe('ops --env local finds the stand-in through its runtime file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-local-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('says to start npm run local when it is not running', () => {
    expect(() => readRuntime(path.join(dir, 'missing.json'))).toThrow(
      'npm run local is not running: start it in another terminal, then run this command again',
    );
    const stale = path.join(dir, 'stale.json');
    fs.writeFileSync(stale, JSON.stringify({ pid: 2 ** 22 + 1, awsEndpoint: 'x', lambdaEndpoint: 'y' }));
    expect(() => readRuntime(stale)).toThrow(/has ended/);
  });

  test('points every AWS SDK client at the emulator and Lambda at the local endpoint', () => {
    const file = path.join(dir, 'runtime.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ pid: process.pid, awsEndpoint: 'http://a', lambdaEndpoint: 'http://l' }),
    );
    const env: NodeJS.ProcessEnv = { AWS_PROFILE: 'prod-admin' };
    useLocalEndpoints(readRuntime(file), env);
    expect(env).toEqual({
      AWS_ENDPOINT_URL: 'http://a',
      AWS_ENDPOINT_URL_LAMBDA: 'http://l',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
  });
});
