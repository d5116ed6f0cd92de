import { operableEnvironments, staging } from '../../environments';
import { main, parseArgs } from '../../lib/ops';
import { commands, GLOBAL_OPTIONS } from '../../lib/ops/commands';
import { parseService } from '../../lib/ops/service-names';

function captureStderr(): { text: () => string; restore: () => void } {
  let out = '';
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  return { text: () => out, restore: () => spy.mockRestore() };
}

describe('ops CLI', () => {
  test.each([[['help']], [['--help']], [['-h']]])(
    'prints the usage of every command on stdout for %j and exits 0',
    async (argv) => {
      const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        expect(await main(argv, () => ({}) as never)).toBe(0);
        const text = String(out.mock.calls[0][0]);
        for (const name of commands.keys()) expect(text).toContain(`  ${name} `);
        // Every --env value ops accepts, local included.
        expect(text).toContain(`--env <${operableEnvironments.map((e) => e.name).join('|')}>`);
        expect(text).toMatch(/Exit codes: 0 .*, 1 .*, 2 usage error/);
      } finally {
        out.mockRestore();
      }
    },
  );

  test('no command at all is a usage error (exit 2), with the usage on stderr', async () => {
    const err = captureStderr();
    try {
      expect(await main([], () => ({}) as never)).toBe(2);
      expect(err.text()).toMatch(/^A command is missing\.\nUsage: npm run ops --/);
    } finally {
      err.restore();
    }
  });

  test.each(
    [...commands.keys()].flatMap((name) => [
      [name, '--help'],
      [name, '-h'],
    ]),
  )(
    "%s %s prints that command's usage and every --env value it accepts on stdout, exit 0, no AWS",
    async (name, flag) => {
      const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      const makeContext = jest.fn();
      try {
        expect(await main([name, flag], makeContext)).toBe(0);
        const text = String(out.mock.calls[0][0]);
        expect(text).toMatch(new RegExp(`^Usage: npm run ops -- ${name} `));
        const accepted = operableEnvironments
          .map((e) => e.name)
          .filter((e) => e !== 'local' || !commands.get(name)!.notLocal);
        expect(text).toContain(`--env <${accepted.join('|')}>`);
        // Every option the parser accepts for it is listed, the global ones included.
        for (const option of Object.keys({ ...GLOBAL_OPTIONS, ...commands.get(name)!.options }))
          expect(text).toMatch(new RegExp(`^  --${option}\\b`, 'm'));
        expect(makeContext).not.toHaveBeenCalled();
      } finally {
        out.mockRestore();
      }
    },
  );

  test.each([...commands].filter(([, c]) => c.notLocal).map(([name]) => name))(
    '%s --env local: one line saying why it does not apply, exit 2, no AWS',
    async (name) => {
      const err = captureStderr();
      const makeContext = jest.fn();
      try {
        expect(await main([name, '--env', 'local'], makeContext)).toBe(2);
        expect(err.text()).toMatch(new RegExp(`^error: ${name} does not apply to --env local: [^\n]+\n$`));
        expect(makeContext).not.toHaveBeenCalled();
      } finally {
        err.restore();
      }
    },
  );

  test('preflight, release, pager and protect do not apply to local; status, emergency-stop, resume, migrate, rollback do', () => {
    const notLocal = [...commands].filter(([, c]) => c.notLocal).map(([name]) => name);
    expect(notLocal.sort()).toEqual(['pager', 'preflight', 'protect', 'release']);
  });

  describe('one --service grammar: bot | ml-service, ml for ml-service', () => {
    test.each([
      ['bot', 'bot'],
      ['ml-service', 'ml-service'],
      ['ml', 'ml-service'],
    ])('--service %s is %s', (given, service) => {
      expect(parseService(given)).toBe(service);
    });

    test.each(['rollback', 'release'])('%s names the same services in its usage', (name) => {
      expect(commands.get(name)!.usage).toContain('--service <bot|ml-service>');
    });

    test.each([
      [['rollback', '--env', 'staging', '--service', 'web']],
      [['release', '--env', 'production', '--service', 'web', '--tag', 'v1']],
    ])('%j: the same usage error, naming the services and the alias', async (argv) => {
      const err = captureStderr();
      try {
        expect(await main(argv, () => ({ env: staging }) as never)).toBe(2);
        expect(err.text()).toBe(
          'error: --service "web" is not a service: use --service bot | ml-service (also ml for ml-service)\n',
        );
      } finally {
        err.restore();
      }
    });
  });

  test('fails with exit code 2 and the usage on an unknown command', async () => {
    const err = captureStderr();
    try {
      expect(await main(['stop-everything'], () => ({}) as never)).toBe(2);
      expect(err.text()).toMatch(/^Unknown command "stop-everything"\.\nUsage: npm run ops --/);
    } finally {
      err.restore();
    }
  });

  test('fails with exit code 2 naming the valid environments for an unknown --env', async () => {
    const err = captureStderr();
    try {
      expect(await main(['status', '--env', 'qa'])).toBe(2);
      expect(err.text()).toBe(
        'error: --env "qa" is not an environment: use --env staging | production | local\n',
      );
    } finally {
      err.restore();
    }
  });

  test('parses positionals, valued options, inline values and flags', () => {
    expect(parseArgs(['rollback', '--env', 'staging', '--yes', '--reason=a b', '--service', 'bot'])).toEqual({
      command: 'rollback',
      args: { positionals: [], options: { env: 'staging', yes: true, reason: 'a b', service: 'bot' } },
    });
    expect(parseArgs(['migrate', 'down', '1', '--env', 'staging']).args.positionals).toEqual(['down', '1']);
  });

  // Every case exits 2 before the context (and so any AWS client) is built.
  test.each([
    [
      ['emergency-stop', '--env', 'staging', '--reason', 'x', '--dry-run'],
      /emergency-stop does not take --dry-run/,
    ],
    [['status', '--env', 'staging', '--verbose'], /status does not take --verbose: it accepts --env/],
    [
      ['status', '--evn', 'staging'],
      /status does not take --evn \(did you mean --env\?\): it accepts --env, --endpoint-url/,
    ],
    [
      ['rollback', '--env', 'staging', '--service', 'bot', '--yes=no'],
      /--yes is a flag and takes no value \(got "no"\)/,
    ],
    [['rollback', '--env', 'staging', '--service'], /--service needs a value/],
    [['resume', '--env', 'staging', '--by', 'a', '--by', 'b'], /--by is given twice/],
    [['status', 'extra', '--env', 'staging'], /status takes no positional arguments, got \["extra"\]/],
    [['migrate', 'goto', '3', '4', '--env', 'staging'], /migrate takes at most 2 positional/],
  ])('rejects %j with exit code 2 before any AWS call', async (argv, message) => {
    const err = captureStderr();
    const makeContext = jest.fn();
    try {
      expect(await main(argv, makeContext)).toBe(2);
      expect(err.text()).toMatch(message);
      expect(makeContext).not.toHaveBeenCalled();
    } finally {
      err.restore();
    }
  });
});
