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
      expect(err.text()).toBe('error: --env "qa" is not an environment: use --env staging | production\n');
    } finally {
      err.restore();
    }
  });

  test('parses positionals, valued options, inline values and flags', () => {
    expect(parseArgs(['migrate', 'down', '1', '--env', 'staging', '--yes', '--reason=a b'])).toEqual({
      command: 'migrate',
      args: { positionals: ['down', '1'], options: { env: 'staging', yes: true, reason: 'a b' } },
    });
  });
});
