import { main, parseArgs } from '../../lib/ops';

function captureStderr(): { text: () => string; restore: () => void } {
  let out = '';
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  return { text: () => out, restore: () => spy.mockRestore() };
}

describe('ops CLI', () => {
  test.each([[[]], [['help']], [['--help']]])(
    'prints the usage of every command for %j and exits 0',
    async (argv) => {
      const err = captureStderr();
      try {
        expect(await main(argv, () => ({}) as never)).toBe(0);
        expect(err.text()).not.toContain('Unknown command');
        for (const name of ['emergency-stop', 'migrate', 'resume', 'rollback', 'status']) {
          expect(err.text()).toContain(`  ${name} `);
        }
      } finally {
        err.restore();
      }
    },
  );

  test("<command> --help prints that command's usage on stdout and exits 0 without AWS", async () => {
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const makeContext = jest.fn();
    try {
      expect(await main(['rollback', '--help'], makeContext)).toBe(0);
      expect(String(out.mock.calls[0][0])).toMatch(/^Usage: npm run ops -- rollback --env <env>/);
      expect(makeContext).not.toHaveBeenCalled();
    } finally {
      out.mockRestore();
    }
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
