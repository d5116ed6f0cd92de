import { commands, OpsArgs } from './commands';
import { awsContext, findEnvironment, OpsContext, UsageError } from './context';
// Each import registers one command.
import './emergency-stop';
import './migrate';
import './resume';
import './rollback';
import './status';

/** Splits argv into the command, positionals and `--name value` / `--flag` options. */
export function parseArgs(argv: readonly string[]): { command: string | undefined; args: OpsArgs } {
  const [command, ...rest] = argv;
  const positionals: string[] = [];
  const options: Record<string, string | boolean> = {};
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i];
    if (word.startsWith('--')) {
      const [name, inline] = word.slice(2).split(/=(.*)/s, 2);
      const next = rest[i + 1];
      if (inline !== undefined) options[name] = inline;
      else if (
        next !== undefined &&
        !next.startsWith('--') &&
        !['yes', 'force', 'dry-run', 'json'].includes(name)
      ) {
        options[name] = next;
        i++;
      } else options[name] = true;
    } else positionals.push(word);
  }
  return { command, args: { positionals, options } };
}

export function usage(): string {
  return [
    'Usage: npm run ops -- <command> --env <staging|production> [options]',
    '',
    ...[...commands].map(([, c]) => `  ${c.usage}`),
  ].join('\n');
}

/** Runs the ops CLI; `makeContext` is replaceable so tests can run commands against mocks. */
export async function main(
  argv: readonly string[],
  makeContext: (args: OpsArgs) => OpsContext = (args) =>
    awsContext(findEnvironment(args.options.env as string | undefined), { yes: args.options.yes === true }),
): Promise<number> {
  const { command, args } = parseArgs(argv);
  const cmd = command ? commands.get(command) : undefined;
  if (!cmd) {
    const asked = command === undefined || command === 'help' || command === '--help';
    process.stderr.write(`${asked ? '' : `Unknown command "${command}".\n`}${usage()}\n`);
    return asked ? 0 : 2;
  }
  try {
    return await cmd.run(args, makeContext(args));
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
