/**
 * `ops` never silently talks to an emulator for a real environment: an inherited loopback
 * AWS_ENDPOINT_URL (e.g. from sourcing an emulator's settings) is refused in one line, exit 2;
 * `--endpoint-url` says it on purpose.
 */
import { main } from '../../lib/ops';

const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

/** Runs ops with a context factory that only records that it was reached (no AWS call). */
async function run(argv: string[]) {
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(argv, () => {
      throw new Error('context reached');
    });
    return { code, stderr: err.mock.calls.join('') };
  } finally {
    err.mockRestore();
  }
}

describe('an inherited emulator endpoint', () => {
  test.each([
    ['AWS_ENDPOINT_URL', 'http://127.0.0.1:5055'],
    ['AWS_ENDPOINT_URL', 'http://localhost:4566/'],
    ['AWS_ENDPOINT_URL', 'http://[::1]:5000'],
    ['AWS_ENDPOINT_URL_CLOUDFORMATION', 'http://127.0.0.1:5055'],
    ['AWS_ENDPOINT_URL_LAMBDA', 'http://0.0.0.0:9000'],
  ])('%s=%s is refused for --env staging in one line naming it, exit 2', async (name, value) => {
    process.env[name] = value;
    const { code, stderr } = await run(['emergency-stop', '--env', 'staging']);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(`${name}=${value} points at this machine (an emulator), not AWS: unset ${name}`);
  });

  test('is accepted for --env local (the stand-in is the emulator)', async () => {
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:5055';
    expect(await run(['status', '--env', 'local'])).toEqual({ code: 1, stderr: 'error: context reached\n' });
  });

  test('a non-loopback endpoint (a VPC endpoint, a proxy) is not refused', async () => {
    process.env.AWS_ENDPOINT_URL_CLOUDFORMATION =
      'https://vpce-1.cloudformation.eu-west-1.vpce.amazonaws.com';
    expect((await run(['status', '--env', 'staging'])).stderr).toBe('error: context reached\n');
  });

  test('--endpoint-url aims every client of that run at an emulator on purpose, and only that run', async () => {
    delete process.env.AWS_ENDPOINT_URL;
    let during: string | undefined;
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await main(
        ['status', '--env', 'staging', '--endpoint-url', 'http://127.0.0.1:5055'],
        () => {
          during = process.env.AWS_ENDPOINT_URL;
          throw new Error('context reached');
        },
      );
      expect(code).toBe(1);
    } finally {
      err.mockRestore();
    }
    expect(during).toBe('http://127.0.0.1:5055');
    expect(process.env.AWS_ENDPOINT_URL).toBeUndefined();
    // So a second run in the same process is not refused as an inherited emulator.
    expect((await run(['status', '--env', 'staging'])).stderr).toBe('error: context reached\n');
  });

  test('--endpoint-url wins over inherited endpoints, per-service ones included, and restores them after', async () => {
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:5000';
    process.env.AWS_ENDPOINT_URL_ECS = 'https://ecs.proxy.example';
    let during: Record<string, string | undefined> = {};
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await main(
        ['status', '--env', 'staging', '--endpoint-url', 'http://127.0.0.1:5055'],
        () => {
          during = { global: process.env.AWS_ENDPOINT_URL, ecs: process.env.AWS_ENDPOINT_URL_ECS };
          throw new Error('context reached');
        },
      );
      // Not refused as an inherited emulator: the option says it on purpose.
      expect(code).toBe(1);
      expect(err.mock.calls.join('')).toBe('error: context reached\n');
    } finally {
      err.mockRestore();
    }
    expect(during).toEqual({ global: 'http://127.0.0.1:5055', ecs: undefined });
    expect(process.env.AWS_ENDPOINT_URL).toBe('http://127.0.0.1:5000');
    expect(process.env.AWS_ENDPOINT_URL_ECS).toBe('https://ecs.proxy.example');
  });

  test('--endpoint-url that is not a URL is a usage error', async () => {
    const { code, stderr } = await run(['status', '--env', 'staging', '--endpoint-url', 'moto']);
    expect(code).toBe(2);
    expect(stderr).toContain('--endpoint-url "moto" is not a URL');
  });
});
